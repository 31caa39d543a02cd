"""execution-environment.yml: `ansible-builder create` succeeds without a container runtime, and what the generated
context would install is exactly what CI tests (constraints.txt).

The image build itself (podman/docker) is not run here. What the build would do with the context is reproduced as far
as it can be without a container: the galaxy stage's `ansible-galaxy collection install -r requirements.yml` from the
context's `_build` directory (offline, with kubernetes.core of the pinned `ansible` package already in place, so the
tarball reference is what is tested), then the builder stage's own `introspect.py` on the installed collections, which
yields the final pip requirements and system packages the image gets.
"""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = ROOT / "execution-environment.yml"
# kubernetes.core as the pinned `ansible` package installs it (not a copy another tool left in collections/)
KUBERNETES_CORE = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "kubernetes" / "core"
# Installed by ansible-builder's own steps, not by this definition's python list.
BUILDER_PINNED = {"ansible-core", "ansible-runner"}
CONTAINERFILE = "Containerfile"


def constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def requirement_names(path):
    return [
        Requirement(line.split("#")[0]).name
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def kubernetes_core_requirements():
    return requirement_names(KUBERNETES_CORE / "requirements.txt")


def closure(roots):
    """Every distribution `roots` pull in on this Python (3.11, as the image's), by installed metadata."""
    seen, stack = set(), [canonicalize_name(r) for r in roots]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(
                "expected {0} (needed by the execution environment) in the test virtualenv, found it missing; "
                "add it to requirements-dev.txt and constraints.txt, then run `bash scripts/venv.sh`".format(name),
                pytrace=False,
            )
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                stack.append(canonicalize_name(req.name))
    return seen


def expected_python_pins():
    """name -> version for every package the image's pip installs: the closure of the collection's requirements.txt,
    kubernetes.core's requirements.txt, ansible-core and ansible-runner, at the versions of constraints.txt."""
    pins = constraints()
    roots = requirement_names(ROOT / "requirements.txt") + kubernetes_core_requirements() + sorted(BUILDER_PINNED)
    expected = {}
    for name in sorted(closure(roots)):
        if name not in pins:
            pytest.fail(
                "expected {0} (pulled in by {1}) pinned in constraints.txt, found no pin; add it to "
                "requirements-dev.txt, pin it in constraints.txt and run `bash scripts/venv.sh`".format(name, roots),
                pytrace=False,
            )
        installed = importlib.metadata.version(name)
        assert installed == pins[name], (
            "expected {0}=={1} (constraints.txt) in the test virtualenv, found {2}; run the tests in the pinned venv "
            "(`bash scripts/venv.sh`)".format(name, pins[name], installed)
        )
        expected[name] = pins[name]
    return expected


def paste_block(pins):
    return "\n".join("    - {0}=={1}".format(n, v) for n, v in sorted(pins.items()) if n not in BUILDER_PINNED)


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """`ansible-builder create` on a copy of execution-environment.yml, next to a freshly built collection tarball."""
    work = tmp_path_factory.mktemp("ee")
    definition = yaml.safe_load(EE_FILE.read_text())
    shutil.copy(EE_FILE, work / EE_FILE.name)
    shutil.copy(ROOT / definition["dependencies"]["system"], work)
    build = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work / "build"), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, "expected `ansible-galaxy collection build` to succeed, found:\n" + build.stderr
    create = subprocess.run(
        [
            str(BIN / "ansible-builder"),
            "create",
            "-f",
            EE_FILE.name,
            "-c",
            "context",
            f"--output-filename={CONTAINERFILE}",
        ],
        cwd=str(work),
        capture_output=True,
        text=True,
        check=False,
    )
    assert create.returncode == 0, (
        "expected `ansible-builder create -f execution-environment.yml` to succeed, found rc={0}:\n{1}\n{2}\n"
        "Fix execution-environment.yml (schema: ansible-builder v3).".format(
            create.returncode, create.stdout, create.stderr
        )
    )
    return work / "context"


def test_python_requirements_are_the_pinned_closure(context):
    expected = expected_python_pins()
    found = {}
    for line in (context / "_build" / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        assert match, "expected only name==version lines in _build/requirements.txt, found {0!r}".format(line)
        found[canonicalize_name(match.group(1))] = match.group(2)
    wanted = {n: v for n, v in expected.items() if n not in BUILDER_PINNED}
    assert found == wanted, (
        "expected dependencies.python in execution-environment.yml to be exactly the pinned closure of "
        "requirements.txt, kubernetes.core's requirements.txt, ansible-core and ansible-runner (constraints.txt); "
        "found differences: missing {0}, extra or different {1}. "
        "Replace the block between BEGIN and END with:\n{2}".format(
            sorted(set(wanted.items()) - set(found.items())),
            sorted(set(found.items()) - set(wanted.items())),
            paste_block(expected),
        )
    )


def test_ansible_core_and_runner_are_pinned(context):
    pins = constraints()
    containerfile = (context / CONTAINERFILE).read_text()
    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile, re.M)
    expected = "ansible-core=={0} ansible-runner=={1}".format(pins["ansible-core"], pins["ansible-runner"])
    assert refs and refs.group(1) == expected, (
        "expected the image to install `{0}` (constraints.txt), found {1!r}; set dependencies.ansible_core and "
        "dependencies.ansible_runner in execution-environment.yml".format(expected, refs and refs.group(1))
    )


def test_collections_are_this_tarball_and_the_tested_kubernetes_core(context, tmp_path):
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    core_version = json.loads((KUBERNETES_CORE / "MANIFEST.json").read_text())["collection_info"]["version"]
    build_dir = context / "_build"
    requirements = yaml.safe_load((build_dir / "requirements.yml").read_text())["collections"]
    expected = [
        {"name": "collections/rhoai-gpu_infra-{0}.tar.gz".format(version), "type": "file"},
        {"name": "kubernetes.core", "version": "=={0}".format(core_version)},
    ]
    assert requirements == expected, (
        "expected the galaxy requirements {0} (galaxy.yml version, kubernetes.core of the pinned ansible package), "
        "found {1}; update dependencies.galaxy and additional_build_files in execution-environment.yml".format(
            expected, requirements
        )
    )
    assert (build_dir / expected[0]["name"]).is_file(), (
        "expected the collection tarball at context/_build/{0}, found none; additional_build_files must copy "
        "build/rhoai-gpu_infra-{1}.tar.gz (make build) into collections/".format(expected[0]["name"], version)
    )

    # The galaxy stage: `ansible-galaxy collection install -r requirements.yml` in /build (here: _build), offline;
    # kubernetes.core at the pinned version is already installed, as Galaxy would deliver it.
    target = tmp_path / "collections"
    (target / "ansible_collections" / "kubernetes").mkdir(parents=True)
    shutil.copytree(KUBERNETES_CORE, target / "ansible_collections" / "kubernetes" / "core")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    install = subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-r",
            "requirements.yml",
            f"--collections-path={target}",
        ],
        cwd=str(build_dir),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, "expected the galaxy stage's install to succeed, found:\n{0}\n{1}".format(
        install.stdout, install.stderr
    )
    manifest = target / "ansible_collections" / "rhoai" / "gpu_infra" / "MANIFEST.json"
    assert json.loads(manifest.read_text())["collection_info"]["version"] == version
    assert (target / "ansible_collections" / "rhoai" / "gpu_infra" / "playbooks" / "site.yml").is_file()

    # The builder stage: introspect.py merges the installed collections' requirements with the definition's.
    out = tmp_path / "introspect"
    out.mkdir()
    introspect = subprocess.run(
        [
            sys.executable,
            str(build_dir / "scripts" / "introspect.py"),
            "introspect",
            str(target),
            "--user-pip=requirements.txt",
            "--user-bindep=bindep.txt",
            "--exclude-bindep-reqs=exclude-bindep.txt",
            "--write-pip={0}".format(out / "requirements.txt"),
            "--write-bindep={0}".format(out / "bindep.txt"),
        ],
        cwd=str(build_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert introspect.returncode == 0, introspect.stdout + introspect.stderr
    final = [line.split("#")[0].strip() for line in (out / "requirements.txt").read_text().splitlines()]
    pinned = {canonicalize_name(Requirement(r).name) for r in final if "==" in r}
    loose = {canonicalize_name(Requirement(r).name) for r in final if "==" not in r}
    assert loose - pinned == set(), (
        "expected every requirement of the installed collections to have an exact pin in the image, found unpinned: "
        "{0}; pin it in constraints.txt (through requirements-dev.txt) and paste the list the other test prints".format(
            sorted(loose - pinned)
        )
    )
    system = (out / "bindep.txt").read_text()
    assert "openshift-clients" not in system and "kubernetes-client" not in system, (
        "expected kubernetes.core's oc/kubectl packages excluded (not in the UBI repositories), found:\n" + system
    )
    assert "git [platform:rpm]" in system
