#!/usr/bin/env bash
# Create (once) the development virtualenv and print its path.
# The venv lives outside the checkout, keyed by the hash of the files that decide its contents, so a re-run on a
# set-up machine reuses it in well under a second and a changed pin builds a fresh one beside it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
key=$(cat constraints.txt requirements-dev.txt requirements.txt | sha256sum | cut -c1-16)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/rhoai-gpu-infra/venv-py3.11-$key"
if [ ! -f "$venv/.complete" ]; then
  python=${PYTHON:-python3.11}
  command -v "$python" >/dev/null || python=python3
  "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "venv.sh: expected Python 3.11 (ansible-core 2.19 and the lock are for it), found $("$python" --version)." >&2
    echo "venv.sh: install python3.11 or set PYTHON=/path/to/python3.11." >&2
    exit 1
  }
  echo "venv.sh: creating $venv (first run, a few minutes)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt >&2
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$root/.venv"
echo "$venv"
