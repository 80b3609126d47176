"""Shared fixtures: a real PostgreSQL (embedded, one per session, a fresh database per test),
the simulator as a real process, and a runner for the ELT's command line."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.database import Database

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """One embedded PostgreSQL 16 for the whole session (pgserver: runs as root, no install)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server
    server.cleanup()


def socket_dir(server) -> str:
    return psycopg2.extensions.parse_dsn(server.get_uri())["host"]


@pytest.fixture
def database(postgres) -> Database:
    """A new, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    host = socket_dir(postgres)

    def admin(sql: str) -> None:  # a fresh connection each time: a test may restart the server
        connection = psycopg2.connect(dbname="postgres", user="postgres", host=host)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
        connection.close()

    admin(f"create database {name}")
    yield Database(dsn=f"postgresql://postgres:test@localhost/{name}?host={host}", embedded=False)
    admin(f"drop database if exists {name} with (force)")


@dataclass
class Elt:
    """Runs ``python -m pipelines.elt`` as cron would, against one simulator and database."""

    simulator: SimulatorProcess
    database: Database
    data_dir: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            **self.simulator.env(),
            "DESTINATION__POSTGRES__CREDENTIALS": self.database.dsn,
            # fail fast in tests: few retries, short backoff
            "RUNTIME__REQUEST_MAX_ATTEMPTS": "3",
            "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.1",
        }
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "pipelines.elt", "--data-dir", str(self.data_dir), *args]
        return subprocess.run(
            argv, cwd=REPO, env=self.env(**env), capture_output=True, text=True, timeout=600
        )

    def query(self, sql: str, *params) -> list[tuple]:
        with self.database.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def table(self, qualified: str) -> list[tuple]:
        """Every row of a table, without bookkeeping columns (``_dlt_*``, ``_intra_*``,
        ``_processed_load_id``: they record which load wrote a row), sorted."""
        schema, name = qualified.split(".")
        columns = [
            row[0]
            for row in self.query(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s and column_name not like '\\_%%' order by ordinal_position",
                schema,
                name,
            )
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        return sorted(self.query(f"select {listed} from {qualified}"), key=repr)


@pytest.fixture
def make_elt(database, tmp_path):
    def make(simulator: SimulatorProcess) -> Elt:
        return Elt(simulator, database, tmp_path / "data")

    return make


@contextlib.contextmanager
def lock_held_by_another_run(data_dir: Path):
    """The run lock of ``data_dir`` held, as by an ELT run with pid 4242, for the block."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "elt.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write('{"pid": 4242, "started": "2026-11-28T03:00:00+00:00"}')
        held.flush()
        yield
