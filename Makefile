# MAMcrawler: `make up` runs the stack, `make test` runs every test (lint, types, migrations, suite).
#
# Set-up needs only Debian 12's own packages (README, Quick start: one apt line). The locked
# dependencies are installed by uv, and uv itself is bootstrapped into .venv-tools by a venv of
# the system python3 -- never `pip install` into the system Python, which Debian refuses
# (PEP 668, "externally-managed-environment"). UV_VERSION pins the uv every machine uses, so a
# developer's uv on PATH cannot drift from CI's; `make UV=uv install` uses yours instead.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
# Trust the system's certificate store (Debian's ca-certificates, which python3-venv pulls in),
# like Debian's pip does: it also holds local roots, e.g. a company proxy's, that uv's bundled
# Mozilla roots lack.
export UV_SYSTEM_CERTS := 1
PYTHON ?= $(shell command -v python3)
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV ?= $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install up demo test lint typecheck unit bench clean ui ui-client ui-test

$(TOOLS)/bin/uv:
	@if [ -z "$(PYTHON)" ] || ! command -v "$(PYTHON)" >/dev/null; then \
	    echo "make: python3 not found$(if $(PYTHON), at $(PYTHON)): install it with 'apt install python3 python3-venv'" >&2; exit 1; fi
	@if ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
	    echo "make: $(PYTHON) is Python $$("$(PYTHON)" -c 'import platform; print(platform.python_version())'); MAMcrawler needs 3.11 (Debian 12's python3): set PYTHON=/path/to/python3.11" >&2; exit 1; fi
	@if ! "$(PYTHON)" -c 'import ensurepip, venv' >/dev/null 2>&1; then \
	    echo "make: $(PYTHON) cannot create a virtual environment with pip (no ensurepip): install it with 'apt install python3-venv'" >&2; exit 1; fi
	"$(PYTHON)" -m venv --clear $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/mamcrawler: pyproject.toml uv.lock | $(filter $(TOOLS)/bin/uv,$(UV))
	$(UV) sync --frozen --python "$(PYTHON)"
	@touch $@

install: $(BIN)/mamcrawler

up: install
	@ui/build.sh --optional
	$(BIN)/mamcrawler up

# The whole stack against simulated ABS, metadata providers and MAM, and a real qbittorrent-nox swarm
# on loopback (tests/demo/): prints the URL and a demo login; the flow runs by itself. Ctrl-C stops it.
demo: install
	@ui/build.sh --optional
	$(BIN)/python -m tests.demo

# The web UI (ui/, Node.js 20 + npm): built into ui/dist when its sources or the API changed.
ui: install
	ui/build.sh

# Regenerate the typed API client (ui/src/api/schema.d.ts) from the gateway's OpenAPI document.
ui-client: install
	ui/build.sh --client

# The UI's component tests (Vitest); the browser tests are in the pytest suite (tests/browser/).
ui-test: ui
	cd ui && npm run --silent test

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit

test: lint typecheck ui-test
	$(BIN)/pytest -q -p no:cacheprovider --durations=15

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache ui/node_modules ui/dist ui/openapi.json
