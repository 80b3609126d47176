"""Live tracking end to end: backfill, hourly increments while the simulated network lives,
reconciliation. After every run the live marts equal an oracle computed from the simulator's
state, except for the changes the API does not reveal through updated_at (the simulator logs
them); after a reconciliation they equal it exactly."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from intra_simulator.control import SimulatorProcess
from tests.pipelines.oracle import LIVE_COLUMNS, expected_live_marts
from tests.pipelines.test_elt import assert_marts_match_oracle

pytestmark = pytest.mark.integration

LIVE = tuple(LIVE_COLUMNS)


@pytest.fixture
def sim():
    with SimulatorProcess("tiny", 42, "--per-second", "10") as process:
        yield process


def live_rows(elt, mart: str) -> dict[int, tuple]:
    rows = elt.query(f"select {', '.join(LIVE_COLUMNS[mart])} from marts.{mart}")
    return {row[0]: tuple(float(v) if isinstance(v, float) else v for v in row) for row in rows}


def silent_ids(sim) -> dict[str, set[int]]:
    return {name: set(ids) for name, ids in sim.admin.call("GET", "silent").items()}


def assert_live_marts_match(elt, sim, exclude: dict[str, set[int]] | None = None) -> None:
    """Equal to the oracle, but for the rows whose change the API hid (``exclude``)."""
    expected = expected_live_marts(sim.admin)
    exclude = exclude or {}
    for mart in LIVE:
        hidden = exclude.get(mart, set())
        actual = {k: v for k, v in live_rows(elt, mart).items() if k not in hidden}
        wanted = {k: v for k, v in expected[mart].items() if k not in hidden}
        assert actual == wanted, f"marts.{mart} differs from the oracle"


def test_backfill_hourly_rounds_and_reconciliation_follow_the_api(sim, make_elt) -> None:
    elt = make_elt(sim)
    backfill = elt.run()
    assert backfill.returncode == 0, backfill.stdout
    assert_live_marts_match(elt, sim)
    sim.admin.call("DELETE", "silent")

    for _ in range(3):
        sim.admin.advance(6 * 3600)  # students progress, arrive, leave, get anonymized...
        hourly = elt.run()
        assert hourly.returncode == 0, hourly.stdout
        assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
    assert any(silent_ids(sim).values()), "some changes were invisible to the increments"

    full = elt.run("--full")
    assert full.returncode == 0, full.stdout
    assert_live_marts_match(elt, sim)  # exactly, hidden changes and deletions included
    assert_marts_match_oracle(elt, sim)


def test_a_run_with_nothing_changed_costs_one_call_per_live_resource(sim, make_elt) -> None:
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    sim.admin.reset_stats()
    quiet = elt.run("--skip-dbt", "--resources", *LIVE_COLUMNS.keys(), "campus_users")
    assert quiet.returncode == 0, quiet.stdout
    served = sim.admin.stats()["by_path"]
    live_paths = {p: s for p, s in served.items() if p != "/oauth/token"}
    assert all(sum(s.values()) == 1 for s in live_paths.values()), live_paths
    assert len(live_paths) == 6


def test_changes_while_paging_lose_nothing(sim, make_elt) -> None:
    """Records updated between two page requests leave the window being read; with page
    numbers the records behind them would slide onto an already-read page and be lost."""
    elt = make_elt(sim)
    small_pages = {"SOURCES__INTRA__PAGE_SIZE": "10"}
    sim.admin.faults({"kind": "touch", "path": "/v2/projects_users", "nth": [2, 4], "rows": 3})
    first = elt.run(**small_pages)
    sim.admin.clear_faults()
    assert first.returncode == 0, first.stdout
    expected = expected_live_marts(sim.admin)["projects_users"]
    missing = set(expected) - set(live_rows(elt, "projects_users"))
    assert len(missing) <= 6, "only the records touched mid-read can be missing yet"

    second = elt.run(**small_pages)
    assert second.returncode == 0, second.stdout
    assert_live_marts_match(elt, sim)


def test_calls_grow_with_what_changed(sim, make_elt) -> None:
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    before = {p: s.get("200", 0) for p, s in sim.admin.stats()["by_path"].items()}
    changed = sim.admin.advance(24 * 3600)["changed"]
    assert elt.run("--skip-dbt").returncode == 0
    after = {p: s.get("200", 0) for p, s in sim.admin.stats()["by_path"].items()}
    calls = after["/v2/projects_users"] - before["/v2/projects_users"]
    # new and changed projects_users, at most 100 a call (plus the window's own first page)
    assert calls <= math.ceil(changed.get("projects_users", 0) / 100) + 1


def test_anonymized_users_lose_their_personal_data_everywhere_in_raw(sim, make_elt) -> None:
    """The simulator schedules a few anonymize dates a few hours after it starts; once they
    pass, the run erases those users even where the API has not changed them."""
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    users = sim.admin.dump("users")
    now = when(sim.admin.advance(13 * 3600, activity=False)["now"])
    reached = {
        u["id"]: u["login"]
        for u in users
        if not u["login"].startswith("3b3-") and when(u["anonymize_date"]) < now
    }
    assert reached, "anonymize dates passed"

    assert elt.run().returncode == 0
    raw_users = elt.query(
        "select id, login, email, first_name, image from raw.users where id = any(%s)",
        list(reached),
    )
    assert {row[0] for row in raw_users} == set(reached)
    assert all(row[1] == f"3b3-{row[0]}" and row[2:] == (None, None, None) for row in raw_users)
    places = [("projects_users", "teams"), ("projects_users", '"user"'), ("cursus_users", '"user"')]
    for table, column in places:
        for login in reached.values():
            sql = f"select count(*) from raw.{table} where {column}::text ~ %s"
            assert elt.query(sql, rf"\m{login}\M") == [(0,)], f"{login} still in raw.{table}"
    published = elt.query(
        "select count(*) from marts.users where user_id = any(%s) "
        "and (first_name is not null or email is not null)",
        list(reached),
    )
    assert published == [(0,)]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
