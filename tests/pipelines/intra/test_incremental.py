"""Which scans a live resource plans: students without a primary campus are read by user id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelines.intra.incremental import SyncReport, plan, sync

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)
HOURLY = {"window_end": "2026-11-29T11:00:00Z", "covered": [1, 2]}


def kinds(scans) -> list[tuple[str, list[int]]]:
    return [(s.kind, s.users) for s in scans]


def test_without_unmatched_users_nothing_is_added() -> None:
    assert kinds(plan(dict(HOURLY), NOW, OVERLAP, [1, 2], False)) == [("window", [])]
    assert kinds(plan({}, NOW, OVERLAP, [1, 2], False)) == [("window", [])]
    assert kinds(plan(dict(HOURLY), NOW, OVERLAP, [1, 2], True)) == [("reconcile", [])]


def test_a_backfill_reads_their_whole_history_by_user_id_first() -> None:
    scans = plan({}, NOW, OVERLAP, [1, 2], False, unmatched=[7, 5])
    assert kinds(scans) == [("catch_up_users", [5, 7]), ("window", [])]
    assert scans[0].params("filter[campus]") == {
        "range[updated_at]": "1970-01-01T00:00:00Z,2026-11-29T12:00:00Z",
        "filter[user_id]": "5,7",
    }


def test_an_hourly_run_reads_new_ones_in_full_and_known_ones_within_the_window() -> None:
    state = {**HOURLY, "unmatched": [5, 9]}  # 9 has a primary campus again: dropped
    scans = plan(state, NOW, OVERLAP, [1, 2], False, arrivals=[3], unmatched=[5, 7])
    assert kinds(scans) == [("catch_up_users", [3, 7]), ("window_users", [5]), ("window", [])]
    window_users = scans[1].params("filter[campus]")
    assert window_users["range[updated_at]"] == "2026-11-29T10:55:00Z,2026-11-29T12:00:00Z"
    assert window_users["filter[user_id]"] == "5"


def test_a_hundred_users_a_call() -> None:
    state = {**HOURLY, "unmatched": list(range(1000, 1150))}
    scans = plan(state, NOW, OVERLAP, [1], False, unmatched=range(1000, 1250))
    assert [(s.kind, len(s.users)) for s in scans] == [
        ("catch_up_users", 100),
        ("window_users", 100),
        ("window_users", 50),
        ("window", 0),
    ]


def test_a_reconciliation_reads_them_in_full_before_the_listing() -> None:
    scans = plan(dict(HOURLY), NOW, OVERLAP, [1, 2], True, arrivals=[3], unmatched=[5])
    assert kinds(scans) == [("reconcile_users", [5]), ("reconcile", [])]
    assert scans[0].params("filter[campus]") == {"filter[user_id]": "5"}
    assert scans[0].started == scans[1].started, "one reconcile marker for both"


class FakeApi:
    """Answers each listing from ``rows``: by user id when asked so, otherwise by campus (a
    user without a primary campus never matches ``filter[campus]``, as with the simulator's
    default)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows
        self.asked: list[dict] = []

    def server_now(self) -> datetime:
        return NOW

    def pages(self, name, path, params, after_id=None):
        self.asked.append(params)
        if "filter[user_id]" in params:
            users = {int(u) for u in params["filter[user_id]"].split(",")}
            rows = [r for r in self.rows if r["user_id"] in users]
        else:
            rows = [r for r in self.rows if r["campus"] is not None]
        yield [r for r in rows if r["id"] > (after_id or 0)]


def run_sync(api, state, reconcile, unmatched, unseen=()):
    pages = sync(
        api,
        "projects_users",
        "projects_users",
        state,
        overlap=OVERLAP,
        reconcile=reconcile,
        scope=[1],
        scope_filter="filter[campus]",
        unseen_ids=lambda marker, max_id: list(unseen),
        report=SyncReport(),
        unmatched=unmatched,
    )
    return [record for page in pages for record in page]


def test_a_reconciliation_keeps_the_rows_only_the_user_scans_returned() -> None:
    rows = [
        {"id": 1, "user_id": 10, "campus": 1},
        {"id": 2, "user_id": 20, "campus": None},  # 20 has no primary campus
    ]
    state = dict(HOURLY)
    read = run_sync(FakeApi(rows), state, True, [20], unseen=[1, 2, 3])
    assert {r["id"] for r in read if not r.get("_intra_deleted")} == {1, 2}
    assert [r["id"] for r in read if r.get("_intra_deleted")] == [3], "2 is not gone"
    assert state["unmatched"] == [20]


def test_the_listing_drops_what_the_user_scans_already_read() -> None:
    rows = [{"id": 1, "user_id": 10, "campus": 1}, {"id": 2, "user_id": 20, "campus": 1}]
    state = dict(HOURLY)
    read = run_sync(FakeApi(rows), state, False, [20])  # the API matches 20 by campus too
    assert sorted(r["id"] for r in read) == [1, 2], "each record once in one load"
    assert state["unmatched"] == [20]
    api = FakeApi(rows)
    run_sync(api, state, False, [])  # 20 has a primary campus again
    assert state["unmatched"] == [] and len(api.asked) == 1
