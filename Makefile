# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test unit lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/harvest demo

# The whole suite: unit, integration (real SQLite, PostgreSQL, MapServer, loopback HTTP).
test: install
	$(BIN)/python -m tests.services
	$(BIN)/pytest -q -n 2 --dist loadfile tests

unit: install
	$(BIN)/pytest -q tests/unit

# Throughput and peak memory, ours against a peer-like baseline, side by side (printed, never asserted).
bench: install
	$(BIN)/python -m bench.harvest_bench

lint: install
	$(BIN)/ruff check harvesting tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) harvest-data .pytest_cache .mypy_cache .ruff_cache
