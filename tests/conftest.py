"""Shared fixtures: a real PostgreSQL (embedded, one per session, a fresh database per test),
the simulator as a real process, and a runner for the ELT's command line."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.database import Database
from pipelines.dbt_runner import run_dbt
from pipelines.embedded_postgres import get_server
from pipelines.intra.settings import DEFAULT_CURSUS_ID

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres():
    """One embedded PostgreSQL 16 for the whole session (pgserver: runs as root, no install).

    Its data is not under pytest's temporary root: as root, pgserver runs PostgreSQL as
    another user, who must traverse every parent directory, and each pytest session that
    starts resets that root (``/tmp/pytest-of-root``) to 0700, which locked a server of a
    concurrent session out of its own data directory (initdb: Permission denied)."""
    home = Path(tempfile.mkdtemp(prefix="intra-elt-test-pg-"))
    server = get_server(home / "data", cleanup_mode="delete")
    # A throwaway server: no durability (a crash loses nothing a test keeps), less work per
    # write for the CPU the suite is short of.
    durability = ("fsync", "synchronous_commit", "full_page_writes")
    admin(server, *(f"alter system set {s} = off" for s in durability), "select pg_reload_conf()")
    yield server
    server.cleanup()
    shutil.rmtree(home, ignore_errors=True)


def socket_dir(server) -> str:
    return psycopg2.extensions.parse_dsn(server.get_uri())["host"]


def admin(server, *statements: str) -> None:
    """Run statements on the server's maintenance database, outside a transaction; a fresh
    connection each time: a test may have restarted the server."""
    connection = psycopg2.connect(dbname="postgres", user="postgres", host=socket_dir(server))
    connection.autocommit = True
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    connection.close()


def database_name(worker_id: str) -> str:
    """One name per xdist worker, reused by its tests (one at a time): dbt keeps a parse only
    for the same connection, and the name is part of it (see ``dbt_parsed``)."""
    return f"t_{worker_id}"


def database_dsn(postgres, name: str) -> str:
    return f"postgresql://postgres:test@localhost/{name}?host={socket_dir(postgres)}"


@pytest.fixture
def database(postgres, worker_id) -> Database:
    """A new, empty database for one test."""
    name = database_name(worker_id)
    admin(postgres, f"drop database if exists {name} with (force)", f"create database {name}")
    yield Database(dsn=database_dsn(postgres, name), embedded=False)
    admin(postgres, f"drop database if exists {name} with (force)")


@pytest.fixture(scope="session")
def dbt_parsed(postgres, worker_id, tmp_path_factory) -> Path:
    """dbt's partial-parse file for this worker's database, made once per worker.

    A first ``dbt build`` in an empty target folder parses the whole project (seconds of
    CPU); a later one reuses ``partial_parse.msgpack`` when the project, the vars and the
    connection are the same. ``dbt parse`` here runs with the ELT's own command line, vars
    and connection, so every test's first build starts from this parse as a deployment's
    second run would (dbt's log says "Unable to do partial parsing" otherwise)."""
    name = database_name(worker_id)
    target = tmp_path_factory.mktemp("dbt-parsed")
    parsed = run_dbt(
        Database(dsn=database_dsn(postgres, name), embedded=False),
        "parse",
        dbt_vars={"cursus_id": DEFAULT_CURSUS_ID},
        log_dir=target / "logs",
        target_dir=target,
    )
    assert parsed.ok, parsed.log_path.read_text()
    return target / "partial_parse.msgpack"


@dataclass
class Elt:
    """Runs ``intra-elt run`` (or ``full``) as cron would, against one simulator and database."""

    simulator: SimulatorProcess
    database: Database
    data_dir: Path
    dbt_parsed: Path  # the worker's dbt parse, copied into the target folder before a first run

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            **self.simulator.env(),
            "DESTINATION__POSTGRES__CREDENTIALS": self.database.dsn,
            # fail fast in tests: few retries, short backoff
            "RUNTIME__REQUEST_MAX_ATTEMPTS": "3",
            "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.1",
            # the simulator keeps 35 days of campus sessions: a first run reads them all, so
            # that the oracle can expect every session of its dump
            "SOURCES__INTRA__LOCATIONS_DAYS": "40",
            # the tiny world's SQL is too small for dbt's parallel threads to gain anything;
            # one thread spares dbt some CPU, and the suite is CPU-bound
            "INTRA_DBT_THREADS": "1",
        }
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def argv(self, *options: str, command: str = "run") -> list[str]:
        """The command line of a run (``python -m pipelines`` is ``intra-elt``), its dbt
        target folder given the session's parse."""
        target = self.data_dir / "dbt-target"
        if not target.exists():
            target.mkdir(parents=True)
            shutil.copy(self.dbt_parsed, target / self.dbt_parsed.name)
        data_dir = str(self.data_dir)
        return [sys.executable, "-m", "pipelines", command, "--data-dir", data_dir, *options]

    def run(self, *options: str, command: str = "run", **env: str) -> subprocess.CompletedProcess:
        argv = self.argv(*options, command=command)
        return subprocess.run(
            argv, cwd=REPO, env=self.env(**env), capture_output=True, text=True, timeout=600
        )

    def query(self, sql: str, *params) -> list[tuple]:
        with self.database.connect() as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def table(self, qualified: str, without: tuple[str, ...] = ()) -> list[tuple]:
        """Every row of a table, without bookkeeping columns (``_dlt_*``, ``_intra_*``,
        ``_processed_load_id``: they record which load wrote a row) nor ``without``, sorted."""
        schema, name = qualified.split(".")
        columns = [
            row[0]
            for row in self.query(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s and column_name not like '\\_%%' order by ordinal_position",
                schema,
                name,
            )
            if row[0] not in without
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        return sorted(self.query(f"select {listed} from {qualified}"), key=repr)


@pytest.fixture
def make_elt(database, tmp_path, dbt_parsed):
    def make(simulator: SimulatorProcess) -> Elt:
        return Elt(simulator, database, tmp_path / "data", dbt_parsed)

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


# The longest tests first -------------------------------------------------------------------
#
# xdist's ``loadgroup`` with no groups (see the Makefile) hands each worker one test at a
# time, in collection order, with one more queued: sorted longest first, the last tests to
# start are short and the workers finish together. (``--dist load`` deals the first quarter
# of the tests round-robin up front, which gave one worker the longest test and the fifth
# longest: the suite waited for it. xdist's own groups do not work with pytest 9, which
# ignores the node id xdist rewrites.)
# The durations are those of the previous session here (pytest's cache), else those of
# tests/durations.json (measured once, for a fresh clone); an integration test in neither
# (a new one) comes first, a unit test last.

DURATIONS = "intra-elt/durations"
DURATIONS_FILE = Path(__file__).parent / "durations.json"


def pytest_collection_modifyitems(config, items) -> None:
    known = json.loads(DURATIONS_FILE.read_text()) if DURATIONS_FILE.exists() else {}
    if getattr(config, "cache", None):
        known.update(config.cache.get(DURATIONS, {}))

    def cost(item) -> float:
        integration = item.get_closest_marker("integration") is not None
        return known.get(item.nodeid, math.inf if integration else 0.0)

    # The tests of a module that share a fixture of module scope (a simulator) may depend on
    # their order: they move as one block, in their order, at the cost of the longest.
    costs = {item: cost(item) for item in items}
    blocks: dict[str, float] = {}
    for item in items:
        if shares_a_module_fixture(item):
            blocks[item.module.__name__] = max(blocks.get(item.module.__name__, 0), costs[item])
    for item in items:
        if shares_a_module_fixture(item):
            costs[item] = blocks[item.module.__name__]
    items.sort(key=costs.__getitem__, reverse=True)  # stable: equal costs keep their order


def shares_a_module_fixture(item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    return definitions is not None and any(
        definition.scope in ("module", "class", "package")
        for chain in definitions.name2fixturedefs.values()
        for definition in chain
    )


class Durations:
    """Records each test's duration for the next session's order (on the controller only:
    the xdist workers send it their reports)."""

    def __init__(self, config) -> None:
        self.config = config
        self.measured: dict[str, float] = {}

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call":
            self.measured[report.nodeid] = round(report.duration, 2)

    def pytest_sessionfinish(self) -> None:
        if self.measured:
            known = self.config.cache.get(DURATIONS, {})
            self.config.cache.set(DURATIONS, {**known, **self.measured})


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    if getattr(config, "cache", None) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Durations(config), "intra-durations")
