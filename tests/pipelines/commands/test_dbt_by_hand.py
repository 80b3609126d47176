"""dbt by hand (``intra-elt dbt ...``): the ELT's database, and the published marts."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from intra_simulator.control import SimulatorProcess
from pipelines.commands import dbt_by_hand
from pipelines.config import DBT_PROJECT_DIR
from pipelines.database import stop_embedded
from tests.conftest import REPO
from tests.pipelines.commands.conftest import age_newest_load, status

pytestmark = pytest.mark.integration

# Every file of dbt unit tests (the event log's rules, the logtime rules, the blackholes).
UNIT_TESTS = sorted((DBT_PROJECT_DIR / "models").rglob("_*__unit_tests.yml"))
# dbt_by_hand.main(<command>, <data dir>) in a process of its own
MAIN = (
    "import sys, pathlib, pipelines.commands.dbt_by_hand as d; "
    "sys.exit(d.main([sys.argv[1]], pathlib.Path(sys.argv[2])))"
)


def documented_columns() -> dict[tuple[bool, str], set[str]]:
    """Each model's columns described in the YAML beside it, by (a history table?, the
    relation it builds: the history models drop their ``hist_`` prefix)."""
    columns = {}
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        history = "history" in path.parts
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            relation = model["name"].removeprefix("hist_") if history else model["name"]
            columns[(history, relation)] = {c["name"] for c in model.get("columns") or []}
    return columns


def assert_every_column_is_documented(elt) -> None:
    """Every column of every model the build made (staging, intermediate, marts, history)
    has a description in the model's YAML, which the dbt docs and psql's \\d+ show."""
    documented = documented_columns()
    built = elt.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('staging', 'intermediate', 'marts', 'history')"
    )
    missing = sorted(
        f"{schema}.{table}.{column}"
        for schema, table, column in built
        if column not in documented.get((schema == "history", table), set())
    )
    assert not missing, f"columns without a description: {missing}"


@pytest.fixture
def sim():
    with SimulatorProcess("tiny", 42) as process:
        yield process


def test_dbt_by_hand_tests_the_published_marts_and_status_names_stale_sources(
    sim, make_elt, monkeypatch, capfd
) -> None:
    """One deployment for the commands that run dbt by hand, which share their own dbt
    target folder (and its parse): ``intra-elt dbt test`` and ``debug``, then ``intra-elt
    status`` (dbt source freshness), which names stale sources and fails when one is beyond
    its error threshold."""
    elt = make_elt(sim)
    run = elt.run()
    assert run.returncode == 0, run.stdout + run.stderr
    assert_every_column_is_documented(elt)
    # Only the published marts remain: a test that read marts__build would fail.
    with elt.database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("drop schema if exists marts__build cascade")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", elt.database.dsn)

    assert dbt_by_hand.main(["test", "-s", "users"], elt.data_dir) == 0
    assert "ERROR=0" in capfd.readouterr().out
    compiled = [
        path.read_text() for path in (elt.data_dir / dbt_by_hand.TARGET / "compiled").rglob("*.sql")
    ]
    assert any('"marts"."users"' in sql for sql in compiled), "the tests read marts.users"
    assert not any("marts__build" in sql for sql in compiled)

    # The rules as dbt unit tests (the event log, logtime, blackholes: UNIT_TESTS):
    # they pass by hand on the ELT's database, and the ELT's own build leaves them out.
    assert dbt_by_hand.main(["test", "--select", "test_type:unit"], elt.data_dir) == 0
    unit_tests = [t for f in UNIT_TESTS for t in yaml.safe_load(f.read_text())["unit_tests"]]
    assert f"PASS={len(unit_tests)} " in capfd.readouterr().out
    assert "unit_test" not in (elt.data_dir / "logs" / "dbt-build.log").read_text()

    assert dbt_by_hand.main(["debug"], elt.data_dir) == 0
    assert "All checks passed" in capfd.readouterr().out

    age_newest_load(elt, "campus", 7)  # error after 6 hours
    age_newest_load(elt, "cursus", 3)  # warn after 2 hours
    shown = status(elt.env(INTRA_ELT_DATA_DIR=str(elt.data_dir)))
    assert shown.returncode == 1, shown.stdout + shown.stderr
    lines = [line.strip() for line in shown.stdout.splitlines()]
    assert any(re.match(r"ERROR intra\.campus: last loaded .*, 7 h \d\d min ago", x) for x in lines)
    assert any(re.match(r"WARN intra\.cursus: last loaded .*, 3 h \d\d min ago", x) for x in lines)
    assert not any("intra.users" in line for line in lines), "fresh sources are not listed"
    # the data's own age, per raw table
    assert any(re.fullmatch(r"campus +\S+ \S+ +7 h \d\d min", line) for line in lines), lines
    assert any(re.fullmatch(r"users +\S+ \S+ +\d+ min", line) for line in lines), lines


def test_dbt_by_hand_without_a_database_starts_none(tmp_path) -> None:
    # A subprocess in an empty folder, so that no .dlt/secrets.toml of the checkout gives a DSN.
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DESTINATION__POSTGRES__CREDENTIALS"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", MAIN, "debug", str(data_dir)],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert not (data_dir / "postgres").exists(), "no database was created"
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"no database in {data_dir}" in done.stderr
    finally:
        stop_embedded(data_dir)  # had one been started, do not leave it running
