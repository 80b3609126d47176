"""The ledger's reads of past runs that the watch decides its cadence by, against a real
PostgreSQL."""

from __future__ import annotations

import json

import pytest

from pipelines.database import Database
from pipelines.run import ledger

pytestmark = pytest.mark.integration


def ran(database: Database, minutes_ago: float, resources: dict) -> None:
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(ledger.DDL)
        cursor.execute(
            "insert into elt.runs (started_at, mode, status, resources) "
            "values (now() - make_interval(secs => %s), 'tick', 'ok', %s)",
            (minutes_ago * 60, json.dumps(resources)),
        )


def read(status: str = "ok", read: int = 0, unchanged: int = 0, deleted: int = 0) -> dict:
    return {"status": status, "read": read, "unchanged": unchanged, "deleted": deleted}


def test_change_rates_are_the_last_good_reads_changes_a_minute_since_the_one_before(
    database,
) -> None:
    names = ("locations", "cursus_users", "projects_users")
    assert ledger.change_rates(database, names, 3600) == {}, "no ledger yet"
    ran(database, 10, {"locations": read(), "cursus_users": read(), "projects_users": read()})
    ran(database, 4, {"locations": read(read=9, unchanged=2, deleted=1), "cursus_users": read()})
    ran(database, 2, {"cursus_users": read("failed in extract: 502", read=500)})
    ran(database, 1, {"cursus_users": read("ok; read per campus", read=30, unchanged=10)})
    rates = ledger.change_rates(database, names, 3600)
    assert rates.keys() == {"locations", "cursus_users"}, "projects_users: one good read"
    assert rates["locations"] == pytest.approx(8 / 6, rel=0.01), "7 loaded, 1 deleted, 6 min"
    assert rates["cursus_users"] == pytest.approx(20 / 3, rel=0.01), "the failed read aside"
    assert ledger.change_rates(database, names, 3 * 60) == {}, "older runs than the horizon"
