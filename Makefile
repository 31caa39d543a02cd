# Developer entry points. `make test` is what CI runs (.ci/run); `make demo` converges the simulator.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV = $(shell bash scripts/venv.sh)
BIN = $(VENV)/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: help venv controlplane lint sanity build unit integration molecule test demo lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

venv: ## Create (once, cached by lock hash) the dev virtualenv
	@echo "venv: $(VENV)"

controlplane: ## Build (once, cached) the simulator's Kubernetes binaries from the Go module proxy
	bash tests/ocp_sim/build.sh

lint: venv ## yamllint, ruff, ansible-lint --profile production
	$(BIN)/yamllint --strict .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production

sanity: venv ## ansible-test sanity on the built collection (Python 3.11, no Docker)
	bash scripts/sanity.sh

build: venv ## Build the collection tarball and check that nothing from tests/ or build outputs is in it
	bash scripts/build.sh

unit: venv ## Unit tests (no cluster)
	$(BIN)/pytest tests/unit

# Two workers, one test file each at a time (the tests of a file share a test bed): a run waits on installs and
# rollouts about half of its time, so two files side by side use the second core (39 min instead of 54 on 2 cores).
INTEGRATION_WORKERS ?= 2
integration: venv controlplane ## Integration tests against the OpenShift simulator (INTEGRATION_WORKERS=1: one file after another)
	$(BIN)/pytest -n $(INTEGRATION_WORKERS) --dist loadfile --durations=30 tests/integration

molecule: venv controlplane ## Molecule default scenario against the simulator, and the kind scenario's syntax check
	bash scripts/molecule.sh

test: venv controlplane lint sanity build unit integration molecule ## Everything CI runs, set up from nothing
	@echo "make test: every gate passed"

demo: venv controlplane ## Start the simulator, run site.yml and verify.yml against it, print the result
	bash scripts/demo.sh

lock: ## Re-resolve requirements-dev.txt into constraints.txt (Python 3.11)
	rm -rf build/lockvenv && python3.11 -m venv build/lockvenv
	build/lockvenv/bin/pip install -q -r requirements-dev.txt
	{ head -n 2 constraints.txt; build/lockvenv/bin/pip freeze; } > constraints.txt.new && mv constraints.txt.new constraints.txt

clean: ## Remove build outputs (the cached venv and binaries stay)
	rm -rf build reports tests/output .pytest_cache .ruff_cache rhoai-gpu_infra-*.tar.gz
