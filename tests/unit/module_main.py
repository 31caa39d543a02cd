"""A module's main() run in-process as Ansible would run it, with the result it exits or fails with."""

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    pass


def run_main(monkeypatch, main, args, *, warnings=False):
    """``main()`` with ``args``; the result dict gets ``failed``, and with ``warnings`` the module's warnings."""
    results = {"warnings": []} if warnings else {}

    def exit_json(self, **kwargs):
        results.update(kwargs, failed=False)
        raise Exit()

    def fail_json(self, **kwargs):
        results.update(kwargs, failed=True)
        raise Exit()

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    if warnings:
        monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, text: results["warnings"].append(text))
    with patch_module_args(args), pytest.raises(Exit):
        main()
    return results
