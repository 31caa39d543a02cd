"""The project's ansible.cfg under AWX / automation controller: a job runs the project's playbooks with the project
directory as its working directory, so this ansible.cfg applies to it, and the controller hands the job its inventory
as an executable script (awx/main/tasks/jobs.py, build_inventory: `inventory/hosts`, `#! /usr/bin/env python3` and a
`print()` of the inventory's JSON), with ANSIBLE_INVENTORY_UNPARSED_FAILED=True (awx/settings/defaults.py). An
inventory plugin list without the script plugin fails every job before its first task: "No inventory was parsed".
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _Loader(yaml.SafeLoader):
    """Reads Ansible's !unsafe as the plain string it is."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def test_the_inventory_script_a_controller_writes_parses_with_the_projects_ansible_cfg(tmp_path):
    # the one host controller_configure.yml puts into the inventory, as AWX's get_script_data returns it
    templates = (ROOT / "playbooks" / "vars" / "controller_job_templates.yml").read_text()
    host_vars = yaml.load(templates, Loader=_Loader)["__gpu_infra_controller_host_vars"]
    script_data = {
        "all": {"hosts": ["localhost"]},
        "_meta": {"hostvars": {"localhost": dict(host_vars, remote_tower_enabled="true", remote_tower_id=1)}},
    }
    (tmp_path / "inventory").mkdir()
    hosts = tmp_path / "inventory" / "hosts"
    hosts.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(script_data))
    os.chmod(str(hosts), stat.S_IRUSR | stat.S_IXUSR | stat.S_IWUSR)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="True",
        ANSIBLE_NOCOLOR="1",
        HOME=str(tmp_path),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")]),
    )
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(tmp_path / "inventory"), "--list"],
        cwd=str(ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        "expected the inventory script AWX writes for a job to parse with the project's ansible.cfg "
        "([inventory] enable_plugins needs ansible.builtin.script), found:\n"
        + proc.stdout[-2000:]
        + proc.stderr[-2000:]
    )
    listed = json.loads(proc.stdout)
    assert listed["_meta"]["hostvars"]["localhost"]["ansible_connection"] == "local", listed
