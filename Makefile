# 42 Network ELT. `make demo` and `make test` set everything up themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed

.PHONY: help demo test test-slow lint unit elt elt-full status docs simulator db-stop clean bench

help:
	@echo "make demo       run the whole ELT against the simulator and an embedded PostgreSQL"
	@echo "make test       lint (ruff, sqlfluff) and the test suite (unit + integration)"
	@echo "make test-slow  the randomized SIGKILL trials (about 15 minutes)"
	@echo "make elt        production run (hourly cron): extract+load what changed, then dbt build"
	@echo "make elt-full   reconciliation (weekly cron): re-read live data in full, drop what the API lost"
	@echo "make status     last runs, freshness of every mart, what failed and why"
	@echo "make docs       dbt docs generate + serve on http://127.0.0.1:8080"
	@echo "make simulator  run the intra simulator on http://127.0.0.1:8042 (scale=network)"
	@echo "make db-stop    stop the embedded PostgreSQL"
	@echo "make bench      performance against the API limits (network scale, ~75 min; BENCH_ARGS=--only real_limits)"

# The virtualenv is rebuilt when pyproject.toml changes.
$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(INSTALLED)
	$(PY) -m pipelines.demo

test: lint unit

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project

unit: $(INSTALLED)
	$(BIN)/pytest -m "not slow" --numprocesses auto --maxprocesses 4

test-slow: $(INSTALLED)
	$(BIN)/pytest -m slow -s

elt: $(INSTALLED)
	$(PY) -m pipelines.elt $(ELT_ARGS)

elt-full: $(INSTALLED)
	$(PY) -m pipelines.elt --full $(ELT_ARGS)

status: $(INSTALLED)
	$(PY) -m pipelines.status

docs: $(INSTALLED)
	$(PY) -m pipelines.docs

simulator: $(INSTALLED)
	$(PY) -m intra_simulator --scale network --port 8042

db-stop: $(INSTALLED)
	$(PY) -c "from pathlib import Path; from pipelines.database import stop_embedded; print('stopped' if stop_embedded(Path('.data')) else 'not running')"

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .ruff_cache

bench: $(INSTALLED)
	$(PY) -m bench $(BENCH_ARGS)
