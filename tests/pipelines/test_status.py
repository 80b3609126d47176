"""``intra-elt status`` (``python -m pipelines.status``): an empty data directory is reported
without starting a database. (Stale sources named after real runs: test_dbt_by_hand, which
shares its deployment and dbt's parse with the other commands by hand.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.database import stop_embedded
from tests.conftest import REPO

pytestmark = pytest.mark.integration


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
