# Payymo developer and CI entry points. `make run` needs nothing but python3.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
PYTEST_ARGS ?=

PAYYMO_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PAYYMO_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export PAYYMO_TEST_DATABASE_URL PAYYMO_TEST_REDIS_URL

.PHONY: install run test lint bench fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes (or the venv is new).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/payymo db upgrade
	$(BIN)/payymo demo --url http://127.0.0.1:$(PORT)
	exec $(BIN)/payymo serve --host 127.0.0.1 --port $(PORT)

# The whole suite on PostgreSQL + Redis and on the embedded default (SQLite, no Redis),
# side by side; each run's output is shown when both are done.
test: $(STAMP)
	.ci/suites $(BIN)/python $(PYTEST_ARGS)

# schemathesis's CLI against a served embedded app: every operation, the suite's four
# checks, FUZZ_MAX_EXAMPLES (default 100) per operation, FUZZ_SEED (default 1).
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz_served

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every benchmark script (modules without a __main__ block are helpers, not scripts).
bench: $(STAMP)
	@set -e; for script in $$(grep -l '__name__ == "__main__"' benchmarks/*.py); do \
		echo "== $$script"; $(BIN)/python $$script; \
	done
