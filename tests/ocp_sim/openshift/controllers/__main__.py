"""Run every simulated controller in one process: `python -m tests.ocp_sim.openshift.controllers --kubeconfig K`.

Prints READY_LINE once all controllers run and records them in ConfigMap ocp-sim/ocp-sim-controllers; stops
cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading

from kubernetes import client, config

from tests.ocp_sim.openshift import KNOBS_NAMESPACE, READY_LINE
from tests.ocp_sim.openshift.controllers import CONTROLLERS
from tests.ocp_sim.openshift.knobs import Knobs

STATUS_CONFIGMAP = "ocp-sim-controllers"


def load_controllers(names=CONTROLLERS, log=None):
    """(name, class) of every controller module that exists and imports; a broken one is logged and left out."""
    found = []
    for name in names:
        module_name = "tests.ocp_sim.openshift.controllers." + name
        try:
            module = importlib.import_module(module_name)
            found.append((name, module.CONTROLLER))
        except ModuleNotFoundError as exc:
            if exc.name != module_name and log:
                log.error("controller %s not started: %s", name, exc)
        except Exception as exc:  # one broken controller must not take the simulator down
            if log:
                log.exception("controller %s not started: %s", name, exc)
    return found


def record(api_client, names):
    core = client.CoreV1Api(api_client)
    body = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=STATUS_CONFIGMAP, namespace=KNOBS_NAMESPACE),
        data={"controllers": ",".join(names), "pid": str(os.getpid())},
    )
    try:
        core.create_namespaced_config_map(KNOBS_NAMESPACE, body)
    except client.exceptions.ApiException as exc:
        if exc.status != 409:
            raise
        core.replace_namespaced_config_map(STATUS_CONFIGMAP, KNOBS_NAMESPACE, body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--only", help="comma-separated controller names (default: all that exist)")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stdout,
    )
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    log = logging.getLogger("ocp_sim")

    api_client = config.new_client_from_config(config_file=args.kubeconfig)
    # one connection per watch thread plus the reconcilers
    api_client.rest_client.pool_manager.connection_pool_kw["maxsize"] = 32
    knobs = Knobs(api_client)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    names = args.only.split(",") if args.only else CONTROLLERS
    threads = []
    started = []
    for name, cls in load_controllers(names, log):
        controller = cls(api_client, knobs)
        thread = threading.Thread(target=controller.run, args=(stop,), name=name, daemon=True)
        thread.start()
        threads.append(thread)
        started.append(name)
    record(api_client, started)
    log.info("%s: %s", READY_LINE, ", ".join(started))
    sys.stdout.flush()
    stop.wait()
    log.info("stopping")
    for thread in threads:
        thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
