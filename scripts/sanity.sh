#!/usr/bin/env bash
# ansible-test sanity needs the collection at ansible_collections/<ns>/<name>. It runs on the content of the built
# tarball, i.e. exactly what users install (tests/ocp_sim is a simulator for our own CI, not shipped, and is held to
# ruff instead). Python 3.11 only, no containers: --venv lets ansible-test install each test's pinned tools itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$(bash scripts/venv.sh)/bin
bash scripts/build.sh >/dev/null
tarball=$(ls build/rhoai-gpu_infra-*.tar.gz)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/rhoai/gpu_infra"
mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest"
rm -f "$dest/MANIFEST.json" "$dest/FILES.json"
cp galaxy.yml "$dest/"
# kubernetes.core must be importable for our doc fragments' and modules' references
ln -s "$("$bin/python" -c 'import ansible_collections.kubernetes, os; print(os.path.dirname(ansible_collections.kubernetes.__file__))')" "$work/ansible_collections/kubernetes"
cd "$dest"
git init -q . && git add -A >/dev/null
PATH="$bin:$PATH" "$bin/ansible-test" sanity --python 3.11 --venv --color no "$@"
