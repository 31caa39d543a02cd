#!/usr/bin/env bash
# Molecule: the default scenario converges the OpenShift simulator; the kind scenario needs Docker, so CI only checks
# that its playbooks parse.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$(bash scripts/venv.sh)/bin
export PATH="$bin:$PATH"
"$bin/molecule" test -s default
"$bin/molecule" syntax -s kind
