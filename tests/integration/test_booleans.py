"""Booleans as AWX surveys and `-e '{"x": "false"}'` send them: strings. site.yml --check and teardown.yml must behave
the same with the strings "true"/"false" as with real booleans (a non-empty string is truthy in Jinja, and
ansible-core 2.19 refuses a conditional that is not a boolean).

On a private simulated cluster (test bed: real kube-apiserver and OLM, simulated operators). "The same" is compared
task by task: which tasks ran, which were skipped and which failed (counted per task name), and the exit code. Each
pair also shows that the booleans mattered (a task that runs with true is skipped with false), so the comparison
cannot pass vacuously.

Files of other roles this test depends on as well: playbooks/site.yml and playbooks/teardown.yml (their own booleans,
gpu_infra_allow_unsupported_version and gpu_infra_teardown_confirm, already go through `| bool`) and the olm_operator
role (olm_operator_approve_pinned, the *_remove_crds values passed to its olm_remove call).
"""

import difflib
import json
import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Everything but authorino, limitador and dns, which would add Connectivity Link's install to every run of this
# test; their booleans (connectivity_link_authorino_tls, the *_remove_crds) are not exercised here.
COMPONENTS = ["monitoring", "cert_manager", "nfd", "gpu_operator", "serverless", "lws", "kueue", "machinesets"]
SITE_BOOLEANS = [
    "gpu_infra_allow_unsupported_version",
    "gpu_infra_catalog_preflight",
    "monitoring_user_alertmanager_config",
    "monitoring_wait",
    "gpu_operator_dashboard",
    "gpu_operator_wait",
    "gpu_operator_use_driver_toolkit",
    "gpu_operator_driver_enabled",
    "kueue_allow_unknown_channel",
    "olm_operator_approve_pinned",
    "machinesets_autoscaling",
    "machinesets_wait",
    "machinesets_wait_gpu_allocatable",
]
# True would ask AWS, which the test bed does not have: false in every run, as a string or a boolean.
ALWAYS_FALSE = ["machinesets_aws_preflight"]
TEARDOWN_BOOLEANS = ["gpu_infra_remove_crds"] + [
    c + "_remove_crds" for c in ("cert_manager", "nfd", "gpu_operator", "serverless", "lws", "kueue")
]
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}


def extra_vars(names, value, as_string, **more):
    def form(v):
        return ("true" if v else "false") if as_string else v

    values = {name: form(value) for name in names}
    values.update({name: form(False) for name in ALWAYS_FALSE})
    values.update({k: form(v) if isinstance(v, bool) else v for k, v in more.items()})
    return dict(values, gpu_infra_components=COMPONENTS, gpu_infra_timeout=300)


def outline(run):
    """[(task name, ran|skipped|failed), ...] from the JSON callback's report; an olm_remove task that ran says
    which remove_crds it was given ("ran remove_crds=True")."""
    report = json.loads(run.stdout[run.stdout.index("{") :])
    steps = []
    for play in report["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get("localhost", {})
            state = "failed" if result.get("failed") else "skipped" if result.get("skipped") else "ran"
            args = result.get("invocation", {}).get("module_args", {})
            if state == "ran" and "remove_crds" in args:
                state += " remove_crds={0}".format(args["remove_crds"])
            steps.append((task["task"]["name"], state))
    return steps


def applied_by(run, component):
    """The (kind, name) of each operand the operands step of ``component`` was given to apply."""
    report = json.loads(run.stdout[run.stdout.index("{") :])
    for play in report["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith("Apply the operands of " + component):
                args = task["hosts"].get("localhost", {}).get("invocation", {}).get("module_args", {})
                return {(o["kind"], o["metadata"]["name"]) for o in args.get("apply") or []}
    return None


def states_of(steps, name):
    """The states of the task called ``name`` (tasks of roles are listed as "<role FQCN> : <name>")."""
    return {state for task, state in steps if task == name or task.endswith(" : " + name)}


def run_pair(playbook, sim, name, value, names, **kwargs):
    """The same playbook with real booleans and with their strings; returns both outlines after comparing them."""
    more = kwargs.pop("more", {})
    runs = {}
    for as_string in (False, True):
        started = time.monotonic()
        run = playbook(
            name, sim.kubeconfig, extra_vars=extra_vars(names, value, as_string, **more), env=JSON_CALLBACK, **kwargs
        )
        print(
            "{0} {1}={2} as {3}: rc {4} in {5:.0f} s".format(
                name, "booleans", value, "strings" if as_string else "booleans", run.rc, time.monotonic() - started
            )
        )
        runs[as_string] = run
    real, strings = outline(runs[False]), outline(runs[True])
    assert runs[True].rc == runs[False].rc, (runs[False], runs[True])
    # Compared as multisets: the JSON callback may list the tasks of looped include_role calls in another order.
    real_lines, string_lines = (sorted("{0} [{1}]".format(*step) for step in steps) for steps in (real, strings))
    assert string_lines == real_lines, "\n".join(list(difflib.unified_diff(real_lines, string_lines, n=1))[:60])
    return runs[False], real


def test_site_check_and_teardown_treat_string_booleans_like_booleans(request, playbook):
    with request.getfixturevalue("ocp_sim_factory")() as sim:
        on_run, on = run_pair(playbook, sim, "site.yml", True, SITE_BOOLEANS, check=True)
        off_run, off = run_pair(playbook, sim, "site.yml", False, SITE_BOOLEANS, check=True)
        assert on_run.rc == 0 and off_run.rc == 0, (on_run, off_run)
        dashboard = ("ConfigMap", "nvidia-dcgm-exporter-dashboard")
        assert dashboard in applied_by(on_run, "gpu_operator") and dashboard not in applied_by(off_run, "gpu_operator")
        assert ("ClusterPolicy", "gpu-cluster-policy") in applied_by(off_run, "gpu_operator")
        autoscaling = "Merge the GPU limits of the pools into ClusterAutoscaler default"
        assert states_of(on, autoscaling) == {"ran"} and states_of(off, autoscaling) == {"skipped"}

        refused_run, _ = run_pair(
            playbook, sim, "teardown.yml", False, TEARDOWN_BOOLEANS, more={"gpu_infra_teardown_confirm": False}
        )
        assert refused_run.rc != 0 and "gpu_infra_teardown_confirm=true" in refused_run.stdout
        keep_run, keep = run_pair(
            playbook, sim, "teardown.yml", False, TEARDOWN_BOOLEANS, more={"gpu_infra_teardown_confirm": True}
        )
        drop_run, drop = run_pair(
            playbook, sim, "teardown.yml", True, TEARDOWN_BOOLEANS, more={"gpu_infra_teardown_confirm": True}
        )
        assert keep_run.rc == 0 and drop_run.rc == 0, (keep_run, drop_run)
        # olm_operator's remove, one olm_remove call per operator
        removals = sorted({task for task, _ in drop if "Remove as much of the operator install" in task})
        assert len(removals) == 6, drop  # cert_manager, nfd, gpu_operator, serverless, lws, kueue
        assert all(states_of(keep, task) == {"ran remove_crds=False"} for task in removals), keep
        assert all(states_of(drop, task) == {"ran remove_crds=True"} for task in removals), drop
