"""What the whole-run tests share: the history tables, and the marts compared with the
oracle (``oracle.py``, which computes them from the simulator's own records)."""

from __future__ import annotations

import subprocess

from tests.pipelines.run.oracle import (
    LIVE_COLUMNS,
    MART_COLUMNS,
    expected_live_marts,
    expected_marts,
)

HISTORY = (
    "users_scope",
    "cursus_users",
    "projects_users",
    "coalitions_users",
    "achievements_users",
    "events",
)

# Pages of 10 records: a tiny world then spans many pages, as the network does.
SMALL_PAGES = {"SOURCES__INTRA__PAGE_SIZE": "10"}


def history_tables(elt) -> dict[str, list[tuple]]:
    return {name: elt.table(f"history.{name}") for name in HISTORY}


def mart_rows(elt, table: str) -> set[tuple]:
    return set(elt.query(f"select {', '.join(MART_COLUMNS[table])} from marts.{table}"))


def assert_marts_match_oracle(elt, sim) -> None:
    for table, rows in expected_marts(sim.admin).items():
        assert mart_rows(elt, table) == rows, f"marts.{table} differs from the oracle"


def live_rows(elt, mart: str) -> dict[int, tuple]:
    rows = elt.query(f"select {', '.join(LIVE_COLUMNS[mart])} from marts.{mart}")
    return {row[0]: tuple(float(v) if isinstance(v, float) else v for v in row) for row in rows}


def silent_ids(sim) -> dict[str, set[int]]:
    return {name: set(ids) for name, ids in sim.admin.call("GET", "silent").items()}


def assert_live_marts_match(elt, sim, exclude: dict[str, set[int]] | None = None) -> None:
    """Equal to the oracle, but for the rows whose change the API hid (``exclude``).

    A hidden deletion of a coalition membership also leaves the ranks of its coalition as
    they were until a full run: ranks are not compared in those coalitions."""
    expected = expected_live_marts(sim.admin)
    exclude = exclude or {}
    stale_coalitions = coalitions_of(elt, exclude.get("coalitions_users", set()))
    for mart in LIVE_COLUMNS:
        hidden = exclude.get(mart, set())
        actual = {k: v for k, v in live_rows(elt, mart).items() if k not in hidden}
        wanted = {k: v for k, v in expected[mart].items() if k not in hidden}
        if mart == "coalitions_users":
            actual, wanted = (without_ranks_in(rows, stale_coalitions) for rows in (actual, wanted))
        assert actual == wanted, f"marts.{mart} differs from the oracle"


def coalitions_of(elt, memberships: set[int]) -> set[int]:
    """The coalitions of memberships the ELT holds in raw."""
    if not memberships:
        return set()
    sql = "select distinct coalition_id from raw.coalitions_users where id = any(%s)"
    return {row[0] for row in elt.query(sql, sorted(memberships))}


def without_ranks_in(rows: dict[int, tuple], coalitions: set[int]) -> dict[int, tuple]:
    """coalitions_users rows, the rank (not the API's) blanked in the given coalitions."""
    rank = LIVE_COLUMNS["coalitions_users"].index("rank")
    return {
        k: (*row[:rank], None, *row[rank + 1 :]) if row[2] in coalitions else row
        for k, row in rows.items()
    }


def converges(elt, sim) -> subprocess.CompletedProcess:
    """A normal run after the fault: ok, and every mart equal to the oracle."""
    sim.admin.clear_faults()
    healed = elt.run(**SMALL_PAGES)
    assert healed.returncode == 0, healed.stdout
    assert_marts_match_oracle(elt, sim)
    assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
    return healed
