# MAMcrawler: `make up` runs the stack, `make test` runs every test (lint, types, migrations, suite).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= $(shell command -v python3)
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install up test lint typecheck unit bench clean

$(BIN)/mamcrawler: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install -q uv
	$(UV) sync --frozen --python "$(PYTHON)"
	@touch $@

install: $(BIN)/mamcrawler

up: install
	$(BIN)/mamcrawler up

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q tests/unit

test: lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider --durations=15

bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
