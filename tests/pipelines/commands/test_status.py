"""``intra-elt status``: an empty data directory is reported
without starting a database. (Stale sources named after real runs: test_dbt_by_hand, which
shares its deployment and dbt's parse with the other commands by hand.)"""

from __future__ import annotations

import os

import pytest

from pipelines.database import stop_embedded
from tests.conftest import REPO
from tests.pipelines.commands.conftest import status

pytestmark = pytest.mark.integration


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
