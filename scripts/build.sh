#!/usr/bin/env bash
# Build the collection tarball and prove that it ships only the collection: no tests, simulator, venvs or caches.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$(bash scripts/venv.sh)/bin
mkdir -p build
rm -f build/rhoai-gpu_infra-*.tar.gz
"$bin/ansible-galaxy" collection build --force --output-path build . >/dev/null
tarball=$(ls build/rhoai-gpu_infra-*.tar.gz)
listing=$(tar -tzf "$tarball")
bad=$(echo "$listing" | grep -E '^(tests|molecule|benchmarks|scripts|\.ci|\.venv|\.collections|\.ocp_sim|build)/|__pycache__|\.pyc$|\.tar\.gz$' || true)
if [ -n "$bad" ]; then
  echo "build.sh: $tarball contains files that must not ship (extend build_ignore in galaxy.yml):" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
for required in MANIFEST.json FILES.json meta/runtime.yml README.md; do
  grep -qx "$required" <<<"$listing" || { echo "build.sh: $tarball lacks $required" >&2; exit 1; }
done
echo "build.sh: $tarball ($(wc -l <<<"$listing") files, $(du -h "$tarball" | cut -f1)) ships no tests or build outputs"
