# mockround — two commands: `make run` serves the product, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-dev ingest lint bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

ingest: install
	$(BIN)/mockround ingest

run: ingest
	$(BIN)/mockround serve

lint: install-dev
	$(BIN)/ruff check service tests

# Debian's chromium for the real-browser tests (tests/test_web.py); never a Playwright download.
browser:
	bash scripts/ensure-chromium.sh

test: install-dev browser
	$(BIN)/ruff check service tests
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mockround .pytest_cache
