"""Simulated OpenShift controllers, one module each, run together by `python -m tests.ocp_sim.openshift.controllers`.

Convention: a module `<name>.py` here defines a subclass of `base.Controller` and exposes it as the module attribute
`CONTROLLER`; the runner constructs `CONTROLLER(api_client, knobs)` and calls `.run(stop_event)` in a thread.
"""

#: modules the runner starts, in this order, when they exist
CONTROLLERS = ["operator_pods", "nfd", "gpu", "machineapi", "monitoring", "operands", "kuadrant"]
