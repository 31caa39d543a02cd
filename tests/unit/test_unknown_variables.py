"""The warning about variables nothing reads (filter unknown_variables, playbooks/tasks/check_components.yml)."""

import subprocess
import sys
from pathlib import Path

import yaml

from ansible_collections.rhoai.gpu_infra.plugins.filter.unknown_variables import unknown_variables

ROOT = Path(__file__).resolve().parents[2]


def test_a_misspelt_role_variable_is_named_with_the_one_meant():
    assert unknown_variables(["gpu_operator_chanel", "kueue_framework", "nfd_channel"]) == [
        "gpu_operator_chanel (did you mean gpu_operator_channel?)",
        "kueue_framework (did you mean kueue_frameworks?)",
    ]


def test_only_names_with_a_role_or_gpu_infra_prefix_count_and_known_ones_pass():
    names = ["ansible_python_interpreter", "awx_job_id", "my_dns", "dns_servers", "gpu_infra_components"]
    assert unknown_variables(names, ["gpu_infra_components"]) == ["dns_servers"]


def test_every_default_of_every_role_is_read():
    defaults = set()
    for path in ROOT.glob("roles/*/defaults/main.yml"):
        defaults.update(yaml.safe_load(path.read_text()) or {})
    assert len(defaults) > 100
    assert unknown_variables(sorted(defaults)) == []


def test_the_playbooks_warn_about_a_misspelt_variable_and_go_on(tmp_path):
    # check_components.yml as the four playbooks import it, without a cluster
    play = tmp_path / "play.yml"
    play.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [str(ROOT / "playbooks" / "vars" / "components.yml")],
                    "tasks": [
                        {"ansible.builtin.import_tasks": str(ROOT / "playbooks" / "tasks" / "component_facts.yml")},
                        {"ansible.builtin.import_tasks": str(ROOT / "playbooks" / "tasks" / "check_components.yml")},
                    ],
                }
            ]
        )
    )
    (tmp_path / "vars").symlink_to(ROOT / "playbooks" / "vars")

    def run(*extra):
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(play), "-e", "gpu_infra_timeout=60", *extra]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)

    typo = run("-e", "nfd_chanel=beta")
    said = " ".join(typo.stdout.split())
    assert typo.returncode == 0, typo.stdout + typo.stderr
    assert "WARNING: no role or playbook of rhoai.gpu_infra reads nfd_chanel (did you mean nfd_channel?)" in said
    clean = run("-e", "nfd_channel=beta", "-e", '{"gpu_infra_components": ["nfd"]}')
    assert clean.returncode == 0 and "WARNING" not in clean.stdout, clean.stdout
