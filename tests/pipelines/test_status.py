"""``intra-elt status`` (``python -m pipelines.status``) after real runs: stale sources are
named and fail the check; an empty data directory is reported without starting a database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.database import stop_embedded

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim():
    with SimulatorProcess("tiny", 42) as process:
        yield process


def status(env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.status"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def age_newest_load(elt, table: str, hours: int) -> None:
    """Move the newest load of a raw table ``hours`` into the past, as if none had succeeded
    since: the two times dbt's freshness reads (``_dlt_load_id``, a Unix time, on the rows,
    and ``inserted_at`` of the load in ``raw._dlt_loads``). Each resource is its own load."""
    with elt.database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"select max(_dlt_load_id) from raw.{table}")
        load_id = cursor.fetchone()[0]
        old = f"{float(load_id) - hours * 3600:.6f}"
        cursor.execute(
            f"update raw.{table} set _dlt_load_id = %s where _dlt_load_id = %s", (old, load_id)
        )
        cursor.execute(
            "update raw._dlt_loads set load_id = %s, "
            "inserted_at = inserted_at - make_interval(hours => %s) where load_id = %s",
            (old, hours, load_id),
        )


def test_status_names_stale_sources_and_fails_when_one_is_beyond_its_error_threshold(
    sim, make_elt
) -> None:
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
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


def test_status_of_an_empty_data_directory_starts_no_database(tmp_path) -> None:
    data_dir = tmp_path / "data"
    # Run in an empty folder, so that no .dlt/secrets.toml of the checkout gives a DSN.
    env = {k: v for k, v in os.environ.items() if k != "DESTINATION__POSTGRES__CREDENTIALS"}
    env.update(PYTHONPATH=str(REPO), INTRA_ELT_DATA_DIR=str(data_dir))
    try:
        shown = status(env, cwd=tmp_path)
        assert not (data_dir / "postgres").exists(), "no database was created to say so"
        assert shown.returncode == 1, shown.stdout + shown.stderr
        assert f"no run recorded yet in {data_dir} (run `intra-elt run`" in shown.stdout
    finally:
        stop_embedded(data_dir)  # had one been started, do not leave it running
