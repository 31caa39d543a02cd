#!/usr/bin/env bash
# make demo: start the OpenShift simulator, converge it with playbooks/site.yml, prove it with playbooks/verify.yml,
# print the result, stop the simulator.
#   KEEP=1        leave the simulator running afterwards (prints how to use and stop it)
#   SCENARIO=...  simulator scenario: default | gpu-nodes | a path (tests/ocp_sim/openshift/scenarios/)
#   OCP_SIM_STATE_DIR  where the simulator keeps its state and logs (default: .ocp_sim in the checkout)
# The simulator is a real Kubernetes control plane with the real OLM; the operators and machine-api are simulated: results from it
# are "on the OpenShift simulator", not on OpenShift.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$(bash scripts/venv.sh)/bin
export ANSIBLE_CONFIG="$root/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$root/.collections"
export ANSIBLE_PYTHON_INTERPRETER="$bin/python"
state_dir=${OCP_SIM_STATE_DIR:-$root/.ocp_sim}
sim=("$bin/python" -m tests.ocp_sim --state-dir "$state_dir")

up_args=()
if [ -n "${SCENARIO:-}" ]; then
  up_args+=(--scenario "$SCENARIO")
fi

stop_sim() {
  "${sim[@]}" down >/dev/null 2>&1 || true
}
if [ "${KEEP:-0}" != 1 ]; then
  trap stop_sim EXIT
fi

echo "demo: starting the OpenShift simulator (state: $state_dir)"
kubeconfig=$("${sim[@]}" up "${up_args[@]}" | tail -n 1)
export K8S_AUTH_KUBECONFIG="$kubeconfig"

summary=()
status=0
for playbook in site.yml verify.yml; do
  if [ ! -f "playbooks/$playbook" ]; then
    summary+=("playbooks/$playbook: not run (the playbook does not exist yet)")
    continue
  fi
  echo "demo: ansible-playbook playbooks/$playbook"
  started=$(date +%s)
  rc=0
  "$bin/ansible-playbook" -i localhost, -c local "playbooks/$playbook" || rc=$?
  took=$(($(date +%s) - started))
  if [ "$rc" -eq 0 ]; then
    summary+=("playbooks/$playbook: passed in ${took}s")
  else
    summary+=("playbooks/$playbook: FAILED (exit code $rc) after ${took}s")
    status=1
    break
  fi
done

echo
echo "================ result on the OpenShift simulator ================"
for line in "${summary[@]}"; do
  echo "on the OpenShift simulator: $line"
done
echo "(a real kube-apiserver and the real OLM, with simulated operators, machine-api and kubelets; not a real OpenShift cluster)"
if [ -d reports ]; then
  echo "reports: $root/reports"
fi
if [ "${KEEP:-0}" = 1 ]; then
  echo
  echo "The simulator keeps running. Use it with:"
  echo "  export KUBECONFIG=$kubeconfig K8S_AUTH_KUBECONFIG=$kubeconfig"
  echo "Stop it with:"
  echo "  $bin/python -m tests.ocp_sim --state-dir $state_dir down"
fi
exit "$status"
