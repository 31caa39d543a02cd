"""The OpenShift simulator used by integration tests, Molecule's default scenario and the demo.

The Kubernetes part (controlplane.py) is the real control plane run as local processes;
only the kubelets are faked (kwok). See README.md.
"""
