"""What the tests of the operator's commands share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def status(env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", "status"],
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
