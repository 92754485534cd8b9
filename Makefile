# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test unit integration lint clean

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

lint: install
	$(BIN)/ruff check harvesting tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) harvest-data .pytest_cache .mypy_cache .ruff_cache
