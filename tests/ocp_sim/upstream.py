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


OLM_COMPONENTS = ("olm", "catalog", "package-server", "opm")
OLM_MODULE = "github.com/operator-framework/operator-lifecycle-manager"


def olm_bin_dir() -> Path:
    """The bin dir with olm, catalog, package-server and opm that build.sh fills (`OCP_SIM_OLM_BIN_DIR` overrides)."""
    env = os.environ.get("OCP_SIM_OLM_BIN_DIR")
    if env:
        d = Path(env)
    else:
        try:
            proc = subprocess.run(
                ["bash", str(HERE / "build.sh"), "--print-olm-bindir"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UpstreamError("cannot run {0}: {1}".format(HERE / "build.sh", exc)) from exc
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise UpstreamError(
                "build.sh --print-olm-bindir printed nothing ({0}). Run: bash tests/ocp_sim/build.sh".format(
                    proc.stderr.strip() or "exit code {0}".format(proc.returncode)
                )
            )
        d = Path(lines[-1])
    missing = [c for c in OLM_COMPONENTS if not os.access(d / c, os.X_OK)]
    if missing:
        raise UpstreamError(
            "OLM binaries missing in {0}: {1}. Run: bash tests/ocp_sim/build.sh".format(d, ", ".join(missing))
        )
    return d


def olm_crd_paths() -> list[Path]:
    """OLM's CRD manifests (deploy/chart/crds/*.yaml) at the version pinned by gomod/olm, sorted by file name."""
    crds = module_dir("olm", OLM_MODULE) / "deploy" / "chart" / "crds"
    paths = sorted(crds.glob("*.yaml"))
    if not paths:
        raise UpstreamError("no CRD files in {0}".format(crds))
    return paths
