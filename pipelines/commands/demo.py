"""``make demo``: the whole ELT on embedded defaults, against the intra simulator.

Starts the simulator (reference data at ``network`` scale, the real network's size; users at
``small`` scale, about 3,800 students, rather than the ~20 hours of quota a real network
backfill needs; and the API's limits ten times the real ones, 20 requests/s and 12,000/h, so
that the backfill, about 1,600 calls, takes under two minutes), points the ELT at it through
dlt's env vars, runs it with its own data directory (``.data/demo``: embedded PostgreSQL, dlt
state, logs) so demo data never mixes with a production setup, then prints the commands that
look at the result.

A second ``make demo`` starts the same simulated world again, in which nothing changed since
the first run: so that it shows what an hourly run does, an hour of simulated time passes
first (students progress, arrive, leave, get anonymized) and the run reads only those changes.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from intra_simulator.control import SimulatorAdmin, SimulatorProcess
from pipelines.commands import report
from pipelines.config import PIPELINE_NAME
from pipelines.database import existing_database
from pipelines.embedded_postgres import import_pgserver
from pipelines.run.ledger import newest_run_published
from pipelines.run.orchestration import RunOptions, run_locked

DEMO_DATA_DIR = Path(".data/demo")
DEMO_SCALE = os.environ.get("INTRA_DEMO_SCALE", "network")
DEMO_POPULATION = os.environ.get("INTRA_DEMO_POPULATION", "small")
DEMO_REQUESTS_PER_SECOND = "20"
DEMO_REQUESTS_PER_HOUR = "12000"
# Simulated time before a second run: one cron interval.
SIMULATED_SECONDS = 3600
SIMULATOR_ARGS = [
    # an hour back: the hour of activity before a second run ends at the real time, so no
    # event is dated in the future (every demo run starts as far back, so the second's world
    # never starts before the first's)
    "--start-ago", str(SIMULATED_SECONDS),
    "--population", DEMO_POPULATION,
    "--per-second", DEMO_REQUESTS_PER_SECOND,
    "--per-hour", DEMO_REQUESTS_PER_HOUR,
]  # fmt: skip


def pgserver_bin() -> str:
    """Where the embedded server's binaries (psql included) live."""
    return str(import_pgserver()._commands.POSTGRES_BIN_PATH)


def let_time_pass(admin: SimulatorAdmin) -> None:
    """An hour of activity in the simulated world, so that the incremental run has changes
    to read."""
    changes = admin.advance(SIMULATED_SECONDS)
    changed = ", ".join(f"{name} {count}" for name, count in sorted(changes["changed"].items()))
    print(
        f"the data directory holds a previous run: simulating {SIMULATED_SECONDS // 3600} hour "
        f"of activity before this one (records changed: {changed or 'none'}); the live "
        "resources read only what changed",
        flush=True,
    )


def next_steps(data_dir: Path) -> list[str]:
    """The commands that look at the demo's result, with its data directory spelled out."""
    script = Path(sys.executable).parent / "intra-elt"
    if script.is_relative_to(Path.cwd()):
        script = script.relative_to(Path.cwd())
    where = shlex.quote(str(data_dir))
    socket_dir = shlex.quote(str((data_dir / "postgres").resolve()))
    psql = Path(pgserver_bin()) / "psql"
    return [
        f"look at the result (data directory {data_dir}, log {data_dir / 'logs' / 'elt.log'}):",
        f"  {script} status --data-dir {where}    # last runs and freshness",
        f"  {script} docs --data-dir {where}      # browse every model and column",
        f"  {script} dbt --data-dir {where} test  # the data-quality tests, by hand",
        f"  {script} report --data-dir {where}    # the report again, after another run",
        f"  {psql} -h {socket_dir} -U postgres intra -c 'select * from marts.campuses limit 5'",
        f"  {psql} -h {socket_dir} -U postgres intra -c "
        "'select kind, count(*) from marts.events group by kind'  # the event feed (README)",
        f"  {script} db-stop --data-dir {where}   # stop the demo's PostgreSQL",
        f"or with make: make status DATA_DIR={where} (docs, db-stop alike)",
    ]


def main(data_dir: Path = DEMO_DATA_DIR) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    has_run = (data_dir / "dlt" / PIPELINE_NAME).is_dir()
    print(
        f"starting the intra simulator (scale={DEMO_SCALE}, users at {DEMO_POPULATION} scale, "
        f"limits {DEMO_REQUESTS_PER_SECOND}/s and {DEMO_REQUESTS_PER_HOUR}/h) ...",
        flush=True,
    )
    with SimulatorProcess(
        DEMO_SCALE, 42, *SIMULATOR_ARGS, log_path=data_dir / "simulator.log"
    ) as simulator:
        if has_run:
            let_time_pass(simulator.admin)
        os.environ.update(simulator.env())
        os.environ["SOURCES__INTRA__REQUESTS_PER_SECOND"] = DEMO_REQUESTS_PER_SECOND
        os.environ["SOURCES__INTRA__REQUESTS_PER_HOUR"] = DEMO_REQUESTS_PER_HOUR
        os.environ.pop("DESTINATION__POSTGRES__CREDENTIALS", None)  # the demo always uses its own
        code = run_locked(RunOptions(data_dir))
    print("\n".join(next_steps(data_dir)))
    write_report(data_dir)
    return code


def write_report(data_dir: Path) -> None:
    """The report of what the run published, at the demo's end. The demo's exit code is the
    run's: a report that cannot be made only says why."""
    print("\nthe report (intra-elt report):", flush=True)
    try:
        database = existing_database(data_dir)
        if database is None or not newest_run_published(database):
            print("  not made: the run published nothing")
            return
        code = report.main(data_dir)
    except Exception as error:  # whatever it is, the run's outcome stands
        print(f"  not made: {type(error).__name__}: {error}")
        return
    if code:
        print(f"  not made (exit {code}): see the ERROR above")
