# Two commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test unit lint bench interop chaos reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/harvest demo

# The whole suite: unit, integration (real SQLite, PostgreSQL, MapServer, loopback HTTP),
# without the slow fault scenarios of `make chaos`.
test: install
	$(BIN)/python -m tests.services
	$(BIN)/pytest -q -n 2 --dist loadfile --ignore=tests/interop -m "not chaos" tests

# Slow fault scenarios (slow remotes, killed processes, lost locks), each a real process on
# real services; docs/RELIABILITY.md lists them with the rest.
chaos: install
	$(BIN)/python -m tests.services
	$(BIN)/pytest -q -n 2 --dist loadfile --ignore=tests/interop -m chaos tests

# Rewrites docs/RELIABILITY.md from the fault tests (`make test` checks it is current).
reliability: install
	$(BIN)/python -m tests.reliability

unit: install
	$(BIN)/pytest -q tests/unit

# Real servers on 127.0.0.1 (MapServer, MapProxy, pycsw 2.6 and 3, rustac, Koop), installed under
# .interop/ on first use (apt, one venv each, npm), each harvested through the CLI.
interop: install
	$(BIN)/python -m interop install
	$(BIN)/pytest -q tests/interop

# Throughput, memory and latency, ours against a baseline side by side (printed and written to
# bench-results.json, never asserted). One scenario alone: `make bench SCENARIO=wms`; see docs/PERFORMANCE.md.
bench: install
	$(BIN)/python -m tests.services
	$(BIN)/python -m bench $(if $(SCENARIO),--scenario $(SCENARIO))

lint: install
	$(BIN)/ruff check harvesting tests interop bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) harvest-data .interop .pytest_cache .mypy_cache .ruff_cache
