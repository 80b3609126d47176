"""Running the ELT as cron does, and reading back what it measured.

Each run is the real command line (``python -m pipelines run``); the per-stage wall and CPU
seconds, peak memory, calls and rows come from the run ledger the ELT writes (``elt.runs``),
so the bench measures exactly what production does.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from intra_simulator.control import SimulatorProcess
from pipelines.database import Database, embedded_database

REPO = Path(__file__).resolve().parent.parent


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class EltRun:
    code: int
    wall: float
    ledger: dict
    output: str

    @property
    def stages(self) -> dict:
        return self.ledger.get("stages") or {}

    @property
    def resources(self) -> dict:
        return self.ledger.get("resources") or {}


class Bench:
    """An embedded PostgreSQL for the bench, a fresh database per measured run."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.server = embedded_database(data_dir / "postgres")
        self._count = 0
        self.last_workdir: Path = data_dir

    @staticmethod
    def say(message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    def fresh(self) -> tuple[Database, Path]:
        """A new empty database and data directory (dlt state, lock, logs)."""
        self._count += 1
        name = f"bench_{os.getpid()}_{self._count}"
        admin = psycopg2.connect(self.server.dsn.replace("/intra?", "/postgres?"))
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"drop database if exists {name} with (force)")
            cursor.execute(f"create database {name}")
        admin.close()
        workdir = self.data_dir / "runs" / name
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        return Database(self.server.dsn.replace("/intra?", f"/{name}?"), embedded=False), workdir

    def run(
        self, sim: SimulatorProcess, database: Database, workdir: Path, *args: str, **env
    ) -> EltRun:
        """``intra-elt run`` (``python -m pipelines run``) as cron runs it."""
        argv = [sys.executable, "-m", "pipelines", "run", "--data-dir", str(workdir), *args]
        environment = {
            **os.environ,
            **sim.env(),
            "DESTINATION__POSTGRES__CREDENTIALS": database.dsn,
            **env,
        }
        log = workdir / f"elt-{len(list(workdir.glob('elt-*.log'))) + 1}.log"
        started = time.monotonic()
        with open(log, "w") as output:
            process = subprocess.run(
                argv, cwd=REPO, env=environment, stdout=output, stderr=subprocess.STDOUT
            )
        wall = time.monotonic() - started
        with database.connect() as connection, connection.cursor() as cursor:
            cursor.execute("select row_to_json(r) from elt.runs as r order by run_id desc limit 1")
            row = cursor.fetchone()
        ledger = row[0] if row else {}
        if isinstance(ledger, str):
            ledger = json.loads(ledger)
        return EltRun(process.returncode, wall, ledger, log.read_text())
