"""``intra-elt db-stop``: stop the data directory's embedded PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from pipelines.config import ExitCode
from pipelines.database import stop_embedded
from pipelines.embedded_postgres import StopFailed


def main(data_dir: Path) -> int:
    where = data_dir / "postgres"
    try:
        done = stop_embedded(data_dir)
    except StopFailed as error:
        print(f"embedded PostgreSQL under {where}: NOT stopped: {error}")
        return ExitCode.FAILED
    print(f"embedded PostgreSQL under {where}: {done}")
    return ExitCode.OK
