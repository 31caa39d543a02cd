#!/usr/bin/env bash
# ansible-test sanity needs the collection at ansible_collections/<ns>/<name>. It runs on the content of the built
# tarball, i.e. exactly what users install (tests/ocp_sim is a simulator for our own CI, not shipped, and is held to
# ruff instead). Python 3.11 only, no containers: --venv lets ansible-test install each test's pinned tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dev=$(bash scripts/venv.sh)

# ansible-test bootstraps pip in its venvs with a get-pip script it downloads from a host CI cannot reach; it reads a
# cached copy first (~/.ansible/test/cache, as its own error message suggests). Our stand-in does the same job with the
# interpreter's ensurepip, then installs the pip version ansible-test asks for from PyPI.
pip_version=$("$dev/bin/python" -c 'import re, ansible_test, os; p = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py"); print(re.search(r"pip=.([0-9.]+).", open(p).read()).group(1))')
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cat > "$cache" <<'PY'
"""Stand-in for get-pip.py (written by scripts/sanity.sh): ensurepip, then `pip install` of the requested args."""
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
PY

bash scripts/build.sh >/dev/null
tarball=$(ls build/rhoai-gpu_infra-*.tar.gz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/rhoai/gpu_infra"
mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest"
rm -f "$dest/MANIFEST.json" "$dest/FILES.json"
cp galaxy.yml "$dest/"
# kubernetes.core, for the modules' and docs' references to it
ln -s "$("$dev/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections/kubernetes" \
  "$work/ansible_collections/kubernetes"
cd "$dest"
printf "tests/output/\n" > .gitignore
git init -q . && git add -A >/dev/null
PATH="$dev/bin:$PATH" "$dev/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
