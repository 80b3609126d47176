"""The client secret and the access token appear nowhere: not in the output (cron mail), the
logs, dlt's traces and state, the run ledger, the raw tables, nor error messages."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import requests

from intra_simulator.control import SimulatorProcess
from tests.conftest import REPO
from tests.pipelines.test_reliability import SMALL_PAGES

pytestmark = pytest.mark.integration


def every_file_under(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def database_text(elt) -> str:
    """Every row of every table of raw, elt and marts, as text."""
    tables = elt.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'elt', 'marts', 'marts__build') "
        "and table_type = 'BASE TABLE'"
    )
    return "\n".join(
        str(elt.query(f'select t::text from "{schema}"."{name}" as t')) for schema, name in tables
    )


def test_the_secret_and_the_token_are_never_written(make_elt) -> None:
    secret = "s-s4t2ud-" + secrets.token_hex(32)  # made at run time: never in the repository
    with SimulatorProcess("tiny", 42, "--per-second", "20", "--client-secret", secret) as sim:
        sim.client_secret = secret
        elt = make_elt(sim)
        sim.admin.faults({"kind": "status", "status": 500, "path": "/v2/achievements", "after": 0})
        failing = elt.run(**SMALL_PAGES)  # errors get written too
        sim.admin.clear_faults()
        working = elt.run(**SMALL_PAGES)
        assert failing.returncode == 1 and working.returncode == 0, working.stdout
        credentials = {
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": secret,
        }
        token = requests.post(f"{sim.url}/oauth/token", data=credentials).json()["access_token"]

        haystacks = {
            "output": (failing.stdout + failing.stderr + working.stdout + working.stderr).encode(),
            "database": database_text(elt).encode(),
            **every_file_under(elt.data_dir),
            **every_file_under(REPO / "dbt_project" / "logs"),
        }
        assert len(haystacks) > 10
        for needle in (secret, token):
            found = [name for name, text in haystacks.items() if needle.encode() in text]
            assert not found, f"{'secret' if needle == secret else 'token'} found in {found}"
