# 42 Network ELT. `make demo` and `make test` set everything up themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
# The report's browser test draws the page in Debian's chromium.
CHROMIUM := /usr/bin/chromium
ELT := $(BIN)/intra-elt
# make status DATA_DIR=.data/demo: any target on another data directory (default: env
# INTRA_ELT_DATA_DIR, else .data; the demo's own is .data/demo).
DATA_DIR_ARG = $(if $(DATA_DIR),--data-dir $(DATA_DIR))

.PHONY: help demo test test-slow lint unit elt elt-full status report docs simulator db-stop clean bench soak

help:
	@echo "make demo       run the whole ELT against the simulator and an embedded PostgreSQL"
	@echo "make test       lint (ruff, sqlfluff) and the test suite (unit + integration)"
	@echo "make test-slow  the randomized SIGKILL trials (about 15 minutes)"
	@echo "make elt        production run (hourly cron): extract+load what changed, then dbt build"
	@echo "make elt-full   full run (weekly cron): re-read live data in full, drop what the API lost"
	@echo "make status     last runs, freshness of every mart, what failed and why"
	@echo "make report     the analytics report: one HTML page of charts, <data dir>/report.html"
	@echo "make docs       dbt docs generate + serve on http://127.0.0.1:8080"
	@echo "make simulator  run the intra simulator on http://127.0.0.1:8042 (scale=network)"
	@echo "make db-stop    stop the embedded PostgreSQL"
	@echo "                DATA_DIR=.data/demo: any of these on the demo's data directory"
	@echo "                cron calls .venv/bin/intra-elt run|full directly (make exits 2 on any failure)"
	@echo "make bench      performance against the API limits (network scale, ~75 min, then 2 h of real-time freshness; BENCH_ARGS=--only freshness)"
	@echo "make soak       6 simulated hours of watch ticks under faults, against a clean twin (~45 min; SOAK_ARGS=--hours 1)"

# The virtualenv is rebuilt when pyproject.toml changes.
$(INSTALLED): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(INSTALLED)
	$(ELT) demo $(DATA_DIR_ARG)

# The linters run beside the tests (-j2): the tests keep both cores busy, and lint alone
# keeps one busy for seconds. make waits for both; either failing fails make test.
test: $(INSTALLED)
	@$(MAKE) --no-print-directory -j2 lint unit

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project

# Four workers on two cores: the integration tests spend much of their time waiting (rate
# limits, subprocesses, PostgreSQL). One test at a time per worker, longest first (xdist's
# loadgroup with no groups; see tests/conftest.py), so that the workers finish together.
unit: $(INSTALLED) $(CHROMIUM)
	$(BIN)/pytest -m "not slow" --numprocesses 4 --dist loadgroup --no-loadscope-reorder

# Installed when missing, as root (a fresh machine, CI); otherwise a clear stop, never a
# skipped test.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the report's browser test ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "the tests need Debian's package chromium ($@) for the report's browser test:" \
			"sudo apt-get install chromium" >&2; \
		exit 1; \
	fi

test-slow: $(INSTALLED)
	$(BIN)/pytest -m slow -s

elt: $(INSTALLED)
	$(ELT) run $(DATA_DIR_ARG) $(ELT_ARGS)

elt-full: $(INSTALLED)
	$(ELT) full $(DATA_DIR_ARG) $(ELT_ARGS)

status: $(INSTALLED)
	$(ELT) status $(DATA_DIR_ARG)

report: $(INSTALLED)
	$(ELT) report $(DATA_DIR_ARG)

docs: $(INSTALLED)
	$(ELT) docs $(DATA_DIR_ARG)

simulator: $(INSTALLED)
	$(PY) -m intra_simulator --scale network --port 8042

db-stop: $(INSTALLED)
	$(ELT) db-stop $(DATA_DIR_ARG)

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .ruff_cache

bench: $(INSTALLED)
	$(PY) -m bench $(BENCH_ARGS)

soak: $(INSTALLED)
	$(PY) -m bench.soak $(SOAK_ARGS)
