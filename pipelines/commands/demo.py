"""``make demo``: the whole ELT on embedded defaults, against the intra simulator.

Starts the simulator (reference data at ``network`` scale, the real network's size; users at
``small`` scale, about 3,800 students, rather than the ~20 hours of quota a real network
backfill needs; and the API's limits ten times the real ones, 20 requests/s and 12,000/h, so
that the backfill takes a few minutes), points the ELT at it through dlt's env vars, runs it
with its own data directory (``.data/demo``: embedded PostgreSQL, dlt state, logs) so demo
data never mixes with a production setup, then prints the commands that look at the result.

A later ``make demo`` must find the same simulated world the data directory mirrors: a world
is generated from its seed and the moment its clock starts (the campus sessions are the days
before it), and it changes only when time passes. So the demo keeps its world's start and
every stretch of time it let pass (``SimulatedTime``, a file in the data directory), starts
the simulator at that start again and lets those stretches pass again (the same seed draws
the same changes), then lets up to one more hour pass, never beyond the real time (no event
dated in the future), and the run reads only what changed in it.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
# Simulated time before a later run: one cron interval at the most.
SIMULATED_SECONDS = 3600
SIMULATOR_ARGS = [
    "--population", DEMO_POPULATION,
    "--per-second", DEMO_REQUESTS_PER_SECOND,
    "--per-hour", DEMO_REQUESTS_PER_HOUR,
]  # fmt: skip
SIMULATED_TIME_FILE = "simulated-time.json"


@dataclass
class SimulatedTime:
    """The demo's world across runs: when its clock started, and each stretch of time (in
    seconds) it let pass since, in order."""

    start: datetime
    passed: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, data_dir: Path, now: datetime) -> SimulatedTime:
        """The data directory's world, or a new one whose clock starts an hour before
        ``now`` (so that its first hour of activity ends at the real time at the latest)."""
        try:
            saved = json.loads((data_dir / SIMULATED_TIME_FILE).read_text())
            return cls(datetime.fromisoformat(saved["start"]), list(saved["passed"]))
        except (OSError, ValueError, KeyError):
            return cls(now - timedelta(seconds=SIMULATED_SECONDS))

    def save(self, data_dir: Path) -> None:
        saved = {"start": self.start.isoformat(), "passed": self.passed}
        (data_dir / SIMULATED_TIME_FILE).write_text(json.dumps(saved) + "\n")

    def next_stretch(self, now: datetime) -> float:
        """How much time may pass now: up to an hour, but the world's clock never gets
        ahead of the real one."""
        reached = self.start + timedelta(seconds=sum(self.passed))
        return max(0.0, min(SIMULATED_SECONDS, (now - reached).total_seconds()))

    def simulator_args(self) -> list[str]:
        return [*SIMULATOR_ARGS, "--start-at", self.start.isoformat()]


def pgserver_bin() -> str:
    """Where the embedded server's binaries (psql included) live."""
    return str(import_pgserver()._commands.POSTGRES_BIN_PATH)


def replay(admin: SimulatorAdmin, time: SimulatedTime) -> None:
    """The stretches of time the world already had, again: the same changes as then."""
    if time.passed:
        hours = sum(time.passed) / 3600
        print(
            f"replaying the simulated world's {hours:.1f} h of activity that the data "
            "directory already mirrors ...",
            flush=True,
        )
    for seconds in time.passed:
        admin.advance(seconds)


def let_time_pass(admin: SimulatorAdmin, time: SimulatedTime) -> None:
    """Up to an hour of activity in the simulated world, so that the incremental run has
    changes to read; recorded in ``time``."""
    seconds = time.next_stretch(datetime.now(UTC))
    if seconds < 60:
        print("the last run was less than a minute ago: no simulated time passes", flush=True)
        return
    changes = admin.advance(seconds)
    time.passed.append(seconds)
    changed = ", ".join(f"{name} {count}" for name, count in sorted(changes["changed"].items()))
    print(
        f"the data directory holds a previous run: simulating {seconds / 60:.0f} min of "
        f"activity before this one (records changed: {changed or 'none'}); the live "
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
    time = SimulatedTime.of(data_dir, datetime.now(UTC))
    with SimulatorProcess(
        DEMO_SCALE, 42, *time.simulator_args(), log_path=data_dir / "simulator.log"
    ) as simulator:
        if has_run:
            replay(simulator.admin, time)
            let_time_pass(simulator.admin, time)
        time.save(data_dir)
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
