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


def check_components(tmp_path):
    """A runner of check_components.yml as the four playbooks import it (from playbooks/, beside roles/), without a
    cluster."""
    (tmp_path / "playbooks").mkdir()
    play = tmp_path / "playbooks" / "play.yml"
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
    (tmp_path / "playbooks" / "vars").symlink_to(ROOT / "playbooks" / "vars")
    (tmp_path / "roles").symlink_to(ROOT / "roles")

    def run(*extra):
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(play), "-e", "gpu_infra_timeout=60", *extra]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)

    return run


def test_the_playbooks_warn_about_a_misspelt_variable_and_go_on(tmp_path):
    run = check_components(tmp_path)
    typo = run("-e", "nfd_chanel=beta")
    said = " ".join(typo.stdout.split())
    assert typo.returncode == 0, typo.stdout + typo.stderr
    assert "WARNING: no role or playbook of rhoai.gpu_infra reads nfd_chanel (did you mean nfd_channel?)" in said
    clean = run("-e", "nfd_channel=beta", "-e", '{"gpu_infra_components": ["nfd"]}')
    assert clean.returncode == 0 and "WARNING" not in clean.stdout, clean.stdout


def test_standalone_subscription_variables_are_named_when_connectivity_link_ignores_them(tmp_path):
    # A vars file of the versions whose only layout was the standalone one sets authorino_channel and the like; the
    # default layout now reads connectivity_link_* instead, and the names are documented, so no other warning comes.
    run = check_components(tmp_path)
    old = ["-e", '{"authorino_subscription_config": {"nodeSelector": {"infra": "true"}}}', "-e", "dns_channel=beta"]
    ignored = run(*old)
    said = " ".join(ignored.stdout.split())
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    assert "so authorino_subscription_config, dns_channel have no effect" in said
    assert "no role or playbook" not in said
    standalone = run(*old, "-e", "gpu_infra_connectivity_link=false")
    assert standalone.returncode == 0 and "WARNING" not in standalone.stdout, standalone.stdout
    defaults = run("-e", "authorino_channel=stable", "-e", "limitador_approval=Automatic")
    assert defaults.returncode == 0 and "WARNING" not in defaults.stdout, defaults.stdout
    left_out = run("-e", "dns_channel=beta", "-e", '{"gpu_infra_components": ["nfd"]}')
    assert left_out.returncode == 0 and "WARNING" not in left_out.stdout, left_out.stdout


def test_a_role_used_alone_warns_about_a_misspelt_variable_of_its_own(playbook, tmp_path):
    # No cluster: the warning comes before the preflight's first module call, which then fails.
    tasks = [{"name": "Use the kueue role alone", "ansible.builtin.include_role": {"name": "rhoai.gpu_infra.kueue"}}]
    book = tmp_path / "role.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    typo = playbook(book, tmp_path / "no-kubeconfig", {"kueue_chanel": "stable-v1.3"}, check=True)
    said = " ".join(typo.stdout.split())
    assert "WARNING: no role of rhoai.gpu_infra reads kueue_chanel (did you mean kueue_channel?)" in said, typo
    clean = playbook(book, tmp_path / "no-kubeconfig", {"kueue_channel": "stable-v1.3"}, check=True)
    assert "WARNING: no role" not in clean.stdout, clean
