"""How campus sessions are read: two time windows, re-reads by id, the per-campus fallback,
full runs and their tombstones; against an in-memory API with the locations' semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from requests import HTTPError, Response

from pipelines.intra.incremental import DELETED_FLAG, FULL_RUN_MARKER, SyncReport, stamp
from pipelines.intra.locations import (
    NETWORK,
    PER_CAMPUS,
    REACH,
    RawSessions,
    SessionScan,
    plan,
    slim,
    span_start,
    sync,
)
from pipelines.intra.overlap import ShortOverlap
from pipelines.intra.rate_limit import QuotaExhausted

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)
RECHECK = timedelta(hours=12)
DAYS = 30
STUDENT = {"id": 7, "login": "ana", "kind": "student"}


def session(sid: int, begin: datetime, end: datetime | None, campus: int = 1, **user) -> dict:
    """A session as the API serves it (key order of the real payloads)."""
    return {
        "end_at": stamp(end) if end else None,
        "id": sid,
        "begin_at": stamp(begin),
        "primary": True,
        "host": f"c1r1p{sid}",
        "campus_id": campus,
        "user": {**STUDENT, **user},
    }


class FakeApi:
    """The locations endpoints over ``sessions`` (keyed by id): ranges inclusive, keyset by
    id, ``filter[campus_id]`` lists refused with a 400 when ``refuse_list``, a quota that
    runs out after ``calls_left`` calls."""

    def __init__(self, sessions: dict[int, dict], now: datetime = NOW) -> None:
        self.sessions = sessions
        self.now = now
        self.refuse_list = False
        self.ignored: set[str] = set()  # filters the API ignores, e.g. {"filter[id]"}
        self.calls_left: int | None = None
        self.calls: list[tuple[str, dict]] = []
        self.page_size = 2

    def server_now(self) -> datetime:
        return self.now

    def pages(self, resource, path, params, after_id=None):
        if path.startswith("campus/"):
            params = {**params, "filter[campus_id]": path.split("/")[1]}
        campuses = params.get("filter[campus_id]", "")
        if self.refuse_list and path == "locations" and "," in campuses:
            response = Response()
            response.status_code = 400
            raise HTTPError("400 Filter Error", response=response)
        honoured = {k: v for k, v in params.items() if k not in self.ignored}
        rows = sorted(
            (r for r in self.sessions.values() if matches(r, honoured)), key=lambda r: r["id"]
        )
        rows = [r for r in rows if after_id is None or r["id"] > after_id]
        for i in range(0, max(1, len(rows)), self.page_size):
            if self.calls_left is not None:
                if self.calls_left == 0:
                    raise QuotaExhausted(self.now + timedelta(hours=1))
                self.calls_left -= 1
            self.calls.append((path, params))
            yield [dict(r, user=dict(r["user"])) for r in rows[i : i + self.page_size]]


def matches(row: dict, params: dict) -> bool:
    listed = {"filter[id]": "id", "filter[campus_id]": "campus_id"}
    for key, value in params.items():
        if key.startswith("range["):
            field = key[6:-1]
            low, high = value.split(",")
            if row[field] is None or not low <= row[field] <= high:
                return False
        elif key == "filter[end]":
            if (row["end_at"] is None) != (value == "false"):
                return False
        elif key in listed and str(row[listed[key]]) not in value.split(","):
            return False
    return True


class FakeRaw:
    """raw.locations: merged on id, as dlt merges each page."""

    def __init__(self) -> None:
        self.rows: dict[int, dict] = {}

    def load(self, pages) -> None:
        """One load per run, as dlt does: the rows land once every page was extracted,
        and one load never holds an id twice (the raw table's key is unique)."""
        rows = [row for page in pages for row in page]
        ids = [row["id"] for row in rows]
        assert len(ids) == len(set(ids)), "an id twice in one load"
        for row in rows:
            self.rows[row["id"]] = row

    def answers(self) -> RawSessions:
        def alive():
            return [r for r in self.rows.values() if not r.get(DELETED_FLAG)]

        def whose(r):
            return (r["id"], r["user_id"], r["campus_id"], r["begin_at"])

        return RawSessions(
            open_before=lambda moment: sorted(
                r["id"] for r in alive() if r["end_at"] is None and r["begin_at"] < moment
            ),
            rows_of=lambda ids: [whose(r) for r in alive() if r["id"] in ids],
            unseen=lambda marker, start, open_too: [
                whose(r)
                for r in alive()
                if r.get(FULL_RUN_MARKER) != marker
                and (r["begin_at"] >= start or (open_too and not r["end_at"]))
            ],
        )

    def live(self) -> dict[int, dict]:
        return {i: r for i, r in self.rows.items() if not r.get(DELETED_FLAG)}


def run(api: FakeApi, raw: FakeRaw, state: dict, full: bool = False) -> SyncReport:
    return sync_report(api, raw, state, full=full)


def sync_report(
    api: FakeApi, raw: FakeRaw, state: dict, full: bool = False, campuses=(1, 2)
) -> SyncReport:
    report = SyncReport()
    raw.load(
        sync(
            api,
            "locations",
            state,
            overlap=OVERLAP,
            full=full,
            campuses=list(campuses),
            days=DAYS,
            recheck=RECHECK,
            raw=raw.answers(),
            report=report,
        )
    )
    return report


def as_raw(served: dict) -> dict:
    return slim(served)


# -- planning ------------------------------------------------------------------------------


def test_a_first_run_reads_the_sessions_begun_in_the_last_days_and_a_day_before() -> None:
    (scan,) = plan({}, NOW, OVERLAP, [1, 2], False, DAYS)
    start = "2026-10-29T00:00:00Z"  # 30 days and REACH before NOW, from that day's start
    assert timedelta(days=1) == REACH
    assert (scan.kind, scan.start, scan.end) == ("catch_up", start, stamp(NOW))
    assert scan.path() == "locations"
    assert scan.params([1, 2]) == {
        "range[begin_at]": f"{start},{stamp(NOW)}",
        "filter[campus_id]": "1,2",
    }


def test_runs_of_the_same_day_read_the_same_span_from_its_utc_midnight() -> None:
    morning, night = NOW.replace(hour=0, minute=0, second=1), NOW.replace(hour=23, minute=59)
    midnight = datetime(2026, 10, 29, tzinfo=UTC)
    assert span_start(morning, DAYS) == span_start(night, DAYS) == midnight
    (early,) = plan({}, morning, OVERLAP, [1], True, DAYS)[1:]
    (late,) = plan({}, night, OVERLAP, [1], True, DAYS)[1:]
    assert early.kind == late.kind == "full_begun" and early.start == late.start


def test_an_hourly_run_reads_both_windows_and_the_open_sessions_due_by_id() -> None:
    state = {"window_end": "2026-11-29T11:00:00Z"}
    scans = plan(state, NOW, OVERLAP, [1, 2], False, DAYS, open_ids=range(250))
    assert [(s.kind, len(s.ids)) for s in scans] == [
        ("begun", 0),
        ("ended", 0),
        ("by_id", 100),
        ("by_id", 100),
        ("by_id", 50),
    ]
    assert scans[1].params([1, 2]) == {
        "range[end_at]": "2026-11-29T10:55:00Z,2026-11-29T12:00:00Z",
        "filter[campus_id]": "1,2",
    }
    assert scans[2].params([1, 2]) == {"filter[id]": ",".join(map(str, range(100)))}


def test_a_watch_tick_reads_both_windows_a_short_overlap_back_but_for_its_sweeps() -> None:
    short = ShortOverlap(timedelta(seconds=30), sweep_every=timedelta(minutes=5))
    ticking = {"window_end": "2026-11-29T11:59:00Z", "sweep_end": "2026-11-29T11:57:00Z"}
    scans = plan(ticking, NOW, OVERLAP, [1], False, DAYS, short=short)
    assert [(s.kind, s.start, s.sweep) for s in scans] == [
        ("begun", "2026-11-29T11:58:30Z", False),
        ("ended", "2026-11-29T11:58:30Z", False),
    ]
    due = {**ticking, "sweep_end": "2026-11-29T11:55:00Z"}
    scans = plan(due, NOW, OVERLAP, [1], False, DAYS, short=short)
    assert [(s.start, s.sweep) for s in scans] == [("2026-11-29T11:50:00Z", True)] * 2


def test_after_a_refusal_each_campus_is_read_on_its_own_and_a_full_run_tries_the_list() -> None:
    state = {"window_end": "2026-11-29T11:00:00Z", "listing": PER_CAMPUS}
    scans = plan(state, NOW, OVERLAP, [1, 2], False, DAYS)
    assert [(s.kind, s.path()) for s in scans] == [
        ("begun", "campus/1/locations"),
        ("begun", "campus/2/locations"),
        ("ended", "campus/1/locations"),
        ("ended", "campus/2/locations"),
    ]
    assert "filter[campus_id]" not in scans[0].params([1, 2])
    full = plan(state, NOW, OVERLAP, [1, 2], True, DAYS)
    assert [(s.kind, s.campus) for s in full] == [("full_open", None), ("full_begun", None)]


def test_slim_keeps_the_user_id_drops_staff_and_the_seat_of_anonymized_users() -> None:
    served = session(1, NOW - timedelta(hours=2), NOW)
    assert slim(served) == {
        "id": 1,
        "begin_at": served["begin_at"],
        "end_at": served["end_at"],
        "primary": True,
        "host": "c1r1p1",
        "campus_id": 1,
        "user_id": 7,
    }
    assert slim(session(2, NOW, None, kind="admin")) is None
    assert slim(session(3, NOW, None, login="3b3-7"))["host"] is None
    assert slim({**served, "user": None})["user_id"] is None  # a session of no known user


# -- syncing -------------------------------------------------------------------------------


def test_a_session_that_closes_after_the_first_run_is_read_closed_by_the_end_window() -> None:
    begin = NOW - timedelta(hours=3)
    api = FakeApi({1: session(1, begin, None), 2: session(2, begin, NOW - timedelta(hours=1))})
    raw, state = FakeRaw(), {}
    run(api, raw, state)
    assert raw.live() == {i: as_raw(s) for i, s in api.sessions.items()}
    api.now = NOW + timedelta(hours=1)
    api.sessions[1]["end_at"] = stamp(NOW + timedelta(minutes=30))
    api.calls.clear()
    report = run(api, raw, state)
    assert raw.live()[1]["end_at"] == api.sessions[1]["end_at"]
    assert report.scans == ["begun", "ended"], "nothing open for 12 h: no re-read"
    assert len(api.calls) == 2, "one call per window"


def test_the_list_refused_the_campuses_are_read_one_by_one_now_and_later() -> None:
    api = FakeApi(
        {
            1: session(1, NOW - timedelta(hours=2), None, campus=1),
            2: session(2, NOW - timedelta(hours=2), None, campus=2),
        }
    )
    api.refuse_list = True
    raw, state = FakeRaw(), {}
    report = run(api, raw, state)
    assert set(raw.live()) == {1, 2}
    assert state["listing"] == report.listing == PER_CAMPUS
    assert report.scans == ["catch_up", "catch_up"]
    assert any("refused" in w for w in report.warnings)
    api.now += timedelta(hours=1)
    api.calls.clear()
    run(api, raw, state)
    assert {path for path, _ in api.calls} == {"campus/1/locations", "campus/2/locations"}
    api.refuse_list = False
    report = run(api, raw, state, full=True)
    assert report.listing == NETWORK and "listing" not in state


def test_sessions_open_for_hours_are_read_again_by_id_and_the_deleted_ones_buried() -> None:
    long_ago = NOW - timedelta(hours=20)
    api = FakeApi({1: session(1, long_ago, None), 2: session(2, long_ago, None)})
    raw, state = FakeRaw(), {}
    run(api, raw, state)
    state["rechecked_at"] = stamp(NOW - timedelta(hours=13))
    del api.sessions[2]  # the intra deleted it
    api.sessions[1]["end_at"] = stamp(NOW - timedelta(hours=19))  # closed back in time
    api.now += timedelta(hours=1)
    report = run(api, raw, state)
    assert report.scans == ["begun", "ended", "by_id"]
    assert raw.live()[1]["end_at"] == api.sessions[1]["end_at"]
    assert raw.rows[2] == {
        "id": 2,
        "user_id": 7,
        "campus_id": 1,
        "begin_at": stamp(long_ago),
        DELETED_FLAG: True,
    }
    assert report.deleted == 1
    assert state["rechecked_at"] == stamp(api.now)
    report = run(api, raw, state)
    assert "by_id" not in report.scans, "once every 12 hours"


def test_an_api_that_ignores_the_id_filter_buries_nothing_and_the_windows_go_on() -> None:
    api = FakeApi({1: session(1, NOW - timedelta(hours=20), None)})
    raw, state = FakeRaw(), {}
    run(api, raw, state)
    api.sessions[3] = session(3, NOW - timedelta(hours=30), NOW - timedelta(hours=29))
    api.sessions[4] = session(4, NOW + timedelta(minutes=30), None)
    state["rechecked_at"] = stamp(NOW - timedelta(days=1))
    api.now += timedelta(hours=1)
    api.ignored = {"filter[id]"}
    report = run(api, raw, state)
    assert not any(r.get(DELETED_FLAG) for r in raw.rows.values())
    assert any("ignored the filter" in w for w in report.warnings)
    assert 4 in raw.live() and state["window_end"] == stamp(api.now), "the windows went on"
    assert state["rechecked_at"] == stamp(api.now)


def test_a_full_run_whose_open_filter_is_ignored_buries_no_old_open_session() -> None:
    """Had the API ignored filter[end]=false, the full run would read every session ever
    recorded; the first page shows it, the scan stops, and the open sessions from before the
    span are kept, not buried."""
    api = FakeApi(
        {
            1: session(1, NOW - timedelta(days=40), None),  # open for 40 days
            2: session(2, NOW - timedelta(days=2), NOW - timedelta(days=2, hours=-1)),
        }
    )
    raw, state = FakeRaw(), {}
    raw.rows[1] = as_raw(api.sessions[1])
    run(api, raw, state)
    api.ignored = {"filter[end]"}
    report = run(api, raw, state, full=True)
    assert any("filter[end]=false" in w for w in report.warnings)
    assert set(raw.live()) == {1, 2}


def test_a_re_read_by_id_resumed_after_a_quota_stop_buries_only_what_the_api_lost() -> None:
    api = FakeApi({i: session(i, NOW - timedelta(hours=20), None) for i in range(1, 6)})
    raw, state = FakeRaw(), {}
    run(api, raw, state)
    del api.sessions[4]  # the intra deleted it
    state["rechecked_at"] = stamp(NOW - timedelta(days=1))
    api.now += timedelta(hours=1)
    api.calls_left = 3  # the two windows, then one page of two of the re-read
    report = run(api, raw, state)
    assert report.stopped is not None and report.deleted == 0
    api.calls_left = None
    report = run(api, raw, state)
    assert report.deleted == 1 and raw.rows[4][DELETED_FLAG]
    assert set(raw.live()) == {1, 2, 3, 5}, "the ids read before the stop are not buried"


def test_a_campus_new_to_the_kept_ones_gets_its_span_read() -> None:
    api = FakeApi(
        {
            1: session(1, NOW - timedelta(days=5), NOW - timedelta(days=5, hours=-2), campus=1),
            2: session(2, NOW - timedelta(days=5), NOW - timedelta(days=5, hours=-2), campus=3),
        }
    )
    raw, state = FakeRaw(), {}
    run(api, raw, state)  # campuses 1 and 2
    assert set(raw.live()) == {1} and state["covered"] == [1, 2]
    api.now += timedelta(hours=1)
    report = sync_report(api, raw, state, campuses=[1, 2, 3])
    assert report.scans == ["catch_up", "begun", "ended"]
    assert set(raw.live()) == {1, 2} and state["covered"] == [1, 2, 3]


def test_a_full_run_buries_what_the_api_lost_in_its_window_and_keeps_older_sessions() -> None:
    old = session(1, NOW - timedelta(days=DAYS + 5), NOW - timedelta(days=DAYS + 5, hours=-2))
    api = FakeApi(
        {
            1: old,
            2: session(2, NOW - timedelta(days=3), NOW - timedelta(days=3, hours=-1)),
            3: session(3, NOW - timedelta(days=40), None),  # open for 40 days
        }
    )
    raw, state = FakeRaw(), {}
    raw.rows[1] = as_raw(old)  # read by an earlier window, before the full run's span
    run(api, raw, state)
    assert set(raw.live()) == {1, 2}, "a first run does not read sessions begun before its span"
    del api.sessions[1], api.sessions[2]
    api.now += timedelta(days=1)
    report = run(api, raw, state, full=True)
    assert report.scans == ["full_open", "full_begun"] and report.read_in_full
    assert set(raw.live()) == {1, 3}, "2 is gone; 1 is older than the span; 3 is open"
    assert raw.rows[2][DELETED_FLAG] and report.deleted == 1
    assert state["window_end"] == state["rechecked_at"] == stamp(api.now)


def test_a_run_stopped_by_the_quota_resumes_where_it_stopped() -> None:
    api = FakeApi({i: session(i, NOW - timedelta(hours=i), None) for i in range(1, 8)})
    api.calls_left = 2
    raw, state = FakeRaw(), {}
    report = run(api, raw, state)
    assert report.stopped is not None and len(raw.live()) == 4
    assert state["scans"][0]["after_id"] == 4 and "window_end" not in state
    api.calls_left = None
    run(api, raw, state)
    assert set(raw.live()) == set(range(1, 8)) and state["scans"] == []
    assert state["window_end"] == stamp(NOW)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # sessions beginning in the hour
            st.integers(0, 3),  # sessions ending in the hour
            st.booleans(),  # one deleted
            st.integers(0, 6),  # calls the quota allows (0: unlimited)
        ),
        min_size=1,
        max_size=8,
    )
)
def test_hourly_runs_equal_the_api_and_a_full_run_buries_what_it_deleted(hours) -> None:
    """Whatever happens hour after hour, and wherever the quota stops a run: once the runs
    are through, raw holds every session the API has, as it has it (deleted ones aside);
    after a full run, not one more."""
    now = NOW
    api = FakeApi({}, now)
    raw, state = FakeRaw(), {}
    next_id = 100
    deleted: set[int] = set()
    for begun, ended, delete, quota in hours:
        hour_start, now = now, now + timedelta(hours=1)
        for i in range(begun):
            next_id += 7 if i % 2 else -3  # ids not in time order
            next_id = max(next_id, 1)
            if next_id not in api.sessions and next_id not in deleted:
                begin = hour_start + timedelta(minutes=10 * (i + 1))
                api.sessions[next_id] = session(next_id, begin, None)
        for sid in [s for s, r in sorted(api.sessions.items()) if r["end_at"] is None][:ended]:
            api.sessions[sid]["end_at"] = stamp(now - timedelta(minutes=1))
        if delete and api.sessions:
            deleted.add(min(api.sessions))
            del api.sessions[min(api.sessions)]
        api.now = now
        api.calls_left = quota or None
        run(api, raw, state)
    api.calls_left = None
    for _ in range(3):  # the rest of a stopped scan
        run(api, raw, state)
    assert not state["scans"]
    kept = {i: r for i, r in raw.live().items() if i not in deleted}
    assert kept == {i: as_raw(s) for i, s in api.sessions.items()}, "hourly runs lose nothing"
    api.now += timedelta(minutes=1)
    run(api, raw, state, full=True)
    assert raw.live() == {i: {**as_raw(s), FULL_RUN_MARKER: stamp(api.now)} for i, s in
                          api.sessions.items()}  # fmt: skip


def test_scans_survive_a_round_trip_through_the_state() -> None:
    scan = SessionScan("by_id", ids=[1, 2], after_id=1, started="x")
    assert SessionScan(**{**scan.__dict__}) == scan
