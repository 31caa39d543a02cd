"""Files of pinned upstream Go modules, read from the Go module cache (never copied into the repository).

Each wrapper module under `gomod/` pins versions in its go.mod/go.sum; `module_dir(wrapper, module)` returns where
the Go toolchain keeps that module's source, downloading it through the module proxy first when it is not cached.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOMOD = HERE / "gomod"


class UpstreamError(RuntimeError):
    pass


def go_env():
    env = dict(os.environ)
    # Same settings as build.sh: the wrapper's go.sum decides, no workspace, no toolchain download.
    env.update({"GOWORK": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"})
    return env


@lru_cache(maxsize=None)
def module_dir(wrapper: str, module: str) -> Path:
    """The module cache directory of `module` at the version pinned by `gomod/<wrapper>/go.mod`."""
    cwd = GOMOD / wrapper
    if not (cwd / "go.mod").is_file():
        raise UpstreamError("no wrapper module {0}: expected {1}/go.mod".format(wrapper, cwd))
    try:
        proc = subprocess.run(
            ["go", "mod", "download", "-json", module],
            cwd=str(cwd),
            env=go_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except FileNotFoundError as exc:
        raise UpstreamError("go is not on PATH; it is needed to read {0} from the module cache".format(module)) from exc
    try:
        info = json.loads(proc.stdout or "{}")
    except ValueError:
        info = {}
    if proc.returncode != 0 or not info.get("Dir"):
        raise UpstreamError(
            "could not get {0} as pinned in {1}/go.mod from the Go module proxy: {2}".format(
                module, cwd, info.get("Error") or proc.stderr.strip() or "no directory reported"
            )
        )
    return Path(info["Dir"])
