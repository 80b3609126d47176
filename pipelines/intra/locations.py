"""Campus sessions (``/v2/locations``): read by their two times, not by ``updated_at``.

A session has no ``updated_at``: it appears when someone logs in (``begin_at``) and changes
once, when they log out (``end_at``, null until then), without anything else moving. So a
run reads two windows of the server's time since the previous run, each by keyset on id
(ids are not in time order, see docs/api-behaviours.md: never a cursor):

- ``begun``: ``range[begin_at]``, the sessions that began (still open or already closed);
- ``ended``: ``range[end_at]``, the sessions that closed, whenever they began.

The first run reads the sessions that began in the last ``days`` days, plus ``REACH`` before,
so that a session crossing into the window is whole (a ``catch_up`` scan), from the UTC
midnight before (``span_start``): two runs of the same day read the same sessions, and the
first day is not cut at the minute the run started. So does a later run for a campus new to
the kept ones. Sessions still open ``recheck_hours``
after they began are read again by id (``filter[id]``, ``IDS_PER_CALL`` a call), once every
``recheck_hours``: a session the intra deleted, or closed with an end before the window, shows
there. A full run reads the window again in full, with every session still open; a session
it does not see again is gone from the API and becomes a tombstone (``incremental``).

Two filters the API may ignore are checked on what it answers, and an answer that shows it
ignored them buries nothing: ``filter[id]`` (sessions not asked for) and ``filter[end]=false``
(closed sessions among the open ones). The run warns and goes on.

The listing: one for every kept campus (``/v2/locations?filter[campus_id]=a,b,...``). Whether
the API takes a list there is unknown: when it refuses it (400), each campus's own listing
(``/v2/campus/:id/locations``) is read instead, for this run and the next ones (a full run
tries the list again). The run's report says which one ran.

Each scan is saved in the resource's state with the last id it loaded, like the other live
resources' scans, so that a run stopped by the hourly quota resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from requests import HTTPError

from pipelines.intra.api import IntraApi
from pipelines.intra.incremental import DELETED_FLAG, FULL_RUN_MARKER, SyncReport
from pipelines.intra.overlap import ShortOverlap, earliest_reread, end_windows, window_start
from pipelines.intra.rate_limit import QuotaExhausted
from pipelines.intra.rereads import Rereads
from pipelines.intra.stamps import parse, stamp

log = logging.getLogger("intra.progress")

# How far before the window the first and full runs read begin_at: a session that began
# before the window and ended in it is read whole. Sessions longer than this are capped by
# the logtime rules (dbt var logtime_session_cap_hours) well before it.
REACH = timedelta(days=1)
# Ids per filter[id]: the API answers more than 100 ids in one filter with a 502.
IDS_PER_CALL = 100
NETWORK, PER_CAMPUS = "network", "per_campus"


@dataclass
class SessionScan:
    """One pass over the sessions: a time window, the open ones by id, or a full read."""

    # "catch_up" | "begun" | "ended" | "by_id" | "full_open" | "full_begun"
    kind: str
    start: str | None = None
    end: str | None = None
    campus: int | None = None  # one campus's own listing; None: the list of campuses
    campuses: list[int] = field(default_factory=list)  # catch_up: its campuses (else all)
    ids: list[int] = field(default_factory=list)  # by_id: the sessions to read again
    gone: list[int] = field(default_factory=list)  # by_id: asked for, not returned so far
    after_id: int | None = None  # the last id this scan loaded
    started: str = ""  # server time when the scan was planned (a full run's marker)
    sweep: bool = False  # begun/ended: the window reaches back the whole overlap (overlap.py)

    def path(self) -> str:
        return f"campus/{self.campus}/locations" if self.campus is not None else "locations"

    def params(self, campuses: list[int]) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.kind in ("catch_up", "begun", "full_begun"):
            params["range[begin_at]"] = f"{self.start},{self.end}"
        elif self.kind == "ended":
            params["range[end_at]"] = f"{self.start},{self.end}"
        elif self.kind == "full_open":
            params["filter[end]"] = "false"  # end_at is null: still open
        if self.kind == "by_id":
            params["filter[id]"] = ",".join(map(str, self.ids))
        elif self.campus is None:
            params["filter[campus_id]"] = ",".join(map(str, self.campuses or campuses))
        return params


WINDOW_SCANS = ("catch_up", "begun", "ended")
FULL_SCANS = ("full_open", "full_begun")


def by_id_scans(ids: Iterable[int], started: str) -> list[SessionScan]:
    ids = sorted(set(ids))
    return [
        SessionScan("by_id", ids=ids[i : i + IDS_PER_CALL], started=started)
        for i in range(0, len(ids), IDS_PER_CALL)
    ]


def span_start(now: datetime, days: int) -> datetime:
    """Where the first and full runs begin to read: ``days`` and ``REACH`` before ``now``, at
    the UTC midnight before that, so the span does not depend on the minute a run starts."""
    start = now - timedelta(days=days) - REACH
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def recheck_due(state: dict, now: datetime, recheck: timedelta) -> bool:
    last = state.get("rechecked_at")
    return last is None or now - parse(last) >= recheck


def plan(
    state: dict,
    now: datetime,
    overlap: timedelta,
    campuses: list[int],
    full: bool,
    days: int,
    open_ids: Iterable[int] = (),
    short: ShortOverlap | None = None,
) -> list[SessionScan]:
    """The scans of this run: the unfinished ones first (a run the quota stopped), else what
    this run asks for. ``open_ids`` are the sessions due to be read again by id; ``short``:
    the watch's windows between sweeps (overlap.py)."""
    saved = [SessionScan(**s) for s in state.get("scans", [])]
    if saved:
        return saved
    end = stamp(now)
    span = stamp(span_start(now, days))
    targets = per_listing(state.get("listing", NETWORK), campuses, full)
    if full:
        return [
            *(SessionScan("full_open", span, end, c, started=end) for c in targets),
            *(SessionScan("full_begun", span, end, c, started=end) for c in targets),
        ]
    window_end = state.get("window_end")
    if window_end is None:  # the first run: every kept campus's span
        return [SessionScan("catch_up", span, end, c, started=end) for c in targets]
    start, sweep = window_start(state, now, overlap, short)
    # campuses new to the kept ones: their span, as a first run reads it
    new = sorted(set(campuses) - set(state.get("covered", campuses)))
    catch_ups = [SessionScan("catch_up", span, end, campuses=new, started=end)] if new else []
    if len(targets) > 1:
        catch_ups = per_campus(catch_ups, new)
    return [
        *catch_ups,
        *(SessionScan("begun", start, end, c, started=end, sweep=sweep) for c in targets),
        *(SessionScan("ended", start, end, c, started=end, sweep=sweep) for c in targets),
        *by_id_scans(open_ids, end),
    ]


def per_listing(listing: str, campuses: list[int], full: bool) -> list[int | None]:
    """What each time window is read for: every kept campus at once (None), or each campus,
    when the API refused the list; a full run tries the list again."""
    if listing == NETWORK or full or len(campuses) <= 1:
        return [None]
    return list(campuses)


def per_campus(scans: list[SessionScan], campuses: list[int]) -> list[SessionScan]:
    """The scans with each listing of several campuses split into one scan per campus."""
    split = []
    for scan in scans:
        if scan.campus is None and scan.kind != "by_id":
            split += [
                SessionScan(**{**asdict(scan), "campus": c, "campuses": [c]})
                for c in (scan.campuses or campuses)
            ]
        else:
            split.append(scan)
    return split


def slim(record: dict) -> dict | None:
    """A session as it lands in raw: the user's id instead of the 25-key user object (eight
    times less storage and no personal data), no host once the user is anonymized; None for
    the sessions of staff and other non-students, who are never in the marts."""
    user = record.get("user") or {}
    if user.get("kind") not in (None, "student"):
        return None
    anonymized = str(user.get("login") or "").startswith("3b3-")
    return {
        "id": record["id"],
        "begin_at": record.get("begin_at"),
        "end_at": record.get("end_at"),
        "primary": record.get("primary"),
        "host": None if anonymized else record.get("host"),
        "campus_id": record.get("campus_id"),
        "user_id": user.get("id"),
    }


@dataclass
class RawSessions:
    """What the sync asks of the raw table: rows to read again, rows to bury."""

    # sessions still open that began before the given moment: ids
    open_before: Callable[[str], list[int]]
    # (id, user_id, campus_id, begin_at) of the given ids
    rows_of: Callable[[list[int]], list[tuple]]
    # (id, user_id, campus_id, begin_at) of the rows that a full run (its marker, first
    # argument) did not read although they began in its window (from the second), or are
    # still open (when the third is true)
    unseen: Callable[[str, str, bool], list[tuple]]


def tombstones(rows: list[tuple]) -> list[dict]:
    """Rows replacing deleted sessions: the id, and whose and when the session was, so that a
    later build knows which logtime it had counted (stg_intra__deleted_locations)."""
    return [
        {"id": i, "user_id": u, "campus_id": c, "begin_at": b, DELETED_FLAG: True}
        for i, u, c, b in rows
    ]


class IgnoredFilter(Exception):
    """The API's answer shows that it ignored a filter: ``what`` it means for the run."""


def sync(
    api: IntraApi,
    name: str,
    state: dict,
    *,
    overlap: timedelta,
    full: bool,
    campuses: list[int],
    days: int,
    recheck: timedelta,
    raw: RawSessions,
    report: SyncReport,
    short: ShortOverlap | None = None,
) -> Iterator[list[dict]]:
    """Yield the pages of every scan due, keeping ``state`` at the last loaded id.

    A session read twice in one run (it began and ended in the window) is yielded once: one
    load must not hold an id twice. Whatever changes after the run planned its windows falls
    in the next run's windows, so the first copy read is never staler than what they miss."""
    now = api.server_now()
    if full and not state.get("scans"):
        state.pop("listing", None)  # a full run tries the one listing again
        state.pop("open_unread", None)
    due = not full and recheck_due(state, now, recheck)
    open_ids = raw.open_before(stamp(now - recheck)) if due else []
    if due and not open_ids:
        state["rechecked_at"] = stamp(now)  # nothing open for that long: nothing to read
    scans = plan(state, now, overlap, campuses, full, days, open_ids, short)

    def save() -> None:
        state["scans"] = [asdict(s) for s in scans]

    save()
    report.listing = state.get("listing", NETWORK)
    earlier: set[int] = set()  # ids this run yielded
    # ids this run read, yielded or not: raw has them only once the run's load is done, so
    # what a full run saw this run is known here (what it saw in a run the quota stopped is
    # in raw, with its marker)
    read: set[int] = set()
    rereads = Rereads(state, lambda row: row.get("end_at") or row.get("begin_at"))
    while scans:
        scan = scans[0]
        report.scans.append(scan.kind)
        report.scan_records.append(0)
        try:
            for page in api.pages(name, scan.path(), scan.params(campuses), scan.after_id):
                check_filters(scan, page)
                last_id = page[-1]["id"] if page else scan.after_id
                returned = {r["id"] for r in page}
                if scan.kind == "by_id":  # the ids this page passed over were not returned
                    low, high = scan.after_id or 0, last_id or 0
                    scan.gone += [i for i in scan.ids if low < i <= high and i not in returned]
                read.update(returned)
                rows = [row for row in map(slim, page) if row and row["id"] not in earlier]
                earlier.update(row["id"] for row in rows)
                if scan.kind in FULL_SCANS:
                    for row in rows:
                        row[FULL_RUN_MARKER] = scan.started
                report.records += len(page)
                report.scan_records[-1] += len(page)
                if scan.kind in ("begun", "ended"):  # the windows: they read the overlap again
                    rows = rereads.changed(rows)
                    report.unchanged = rereads.skipped
                yield rows
                scan.after_id = max(scan.after_id or 0, last_id or 0)
                save()
        except QuotaExhausted as stop:
            report.stopped = stop
            log.info(
                "%s: hourly quota spent; %s scan saved after id %s", name, scan.kind, scan.after_id
            )
            return
        except IgnoredFilter as ignored:
            report.warnings.append(str(ignored))
            scans[:] = [s for s in scans if s.kind != scan.kind]  # the others ask the same
            if scan.kind == "by_id":
                state["rechecked_at"] = scan.started
            else:  # full_open: the open sessions before the window were not read
                state["open_unread"] = True
            save()
            continue
        except HTTPError as error:
            if not refused_campus_list(error, scan):
                raise
            report.warnings.append(
                "the API refused one listing for every kept campus (400): each campus's "
                "own listing is read instead, one call or more per campus and window"
            )
            state["listing"] = report.listing = PER_CAMPUS
            scans[:] = per_campus(scans, campuses)
            save()
            report.scans.pop()
            report.scan_records.pop()
            continue
        scans.pop(0)
        if scan.kind == "by_id":
            gone = set(scan.gone) | {i for i in scan.ids if i > (scan.after_id or 0)}
            if gone - read:
                yield bury(raw.rows_of(sorted(gone - read)), report)
        if scan.kind in FULL_SCANS and not any(s.kind in FULL_SCANS for s in scans):
            unseen = raw.unseen(scan.started, scan.start, not state.get("open_unread"))
            yield bury([row for row in unseen if row[0] not in read], report)
        complete(scan, scans, state, report, campuses)
        save()
    if state.get("window_end"):
        rereads.forget_before(stamp(earliest_reread(state, overlap)))


def complete(
    scan: SessionScan, left: list[SessionScan], state: dict, report: SyncReport, campuses
) -> None:
    """What the last scan of its kind completes: the windows, a catch-up of campuses, the
    re-read, the full read."""
    kinds_left = {s.kind for s in left}
    if scan.kind == "catch_up" and "catch_up" not in kinds_left:
        state["covered"] = sorted(set(state.get("covered", [])) | set(scan.campuses or campuses))
        if "window_end" not in state:  # the first run's catch-up is its window
            end_windows(state, scan.end, sweep=True)
    if scan.kind in ("begun", "ended") and not kinds_left & set(WINDOW_SCANS):
        end_windows(state, scan.end, scan.sweep)
    elif scan.kind == "by_id" and "by_id" not in kinds_left:
        state["rechecked_at"] = scan.started
    elif scan.kind in FULL_SCANS and not kinds_left & set(FULL_SCANS):
        report.read_in_full = True
        end_windows(state, scan.started, sweep=True)
        state["rechecked_at"] = scan.started
        state["covered"] = sorted(campuses)
        state.pop("open_unread", None)


def bury(rows: list[tuple], report: SyncReport) -> list[dict]:
    report.deleted += len(rows)
    return tombstones(rows)


def check_filters(scan: SessionScan, page: list[dict]) -> None:
    """Raise ``IgnoredFilter`` when a page shows that the API ignored the scan's filter."""
    if scan.kind == "by_id":
        stray = {r["id"] for r in page} - set(scan.ids)
        if stray:
            raise IgnoredFilter(
                f"/v2/locations?filter[id]=... returned {len(stray)} session(s) not asked for: "
                "the API ignored the filter; sessions still open are not read again by id "
                "this time, and none is taken for deleted"
            )
    elif scan.kind == "full_open" and any(r.get("end_at") for r in page):
        raise IgnoredFilter(
            "locations?filter[end]=false returned closed sessions: the API ignored the filter; "
            "this full run reads no session open since before its span, and deletes none of "
            "them"
        )


def refused_campus_list(error: HTTPError, scan: SessionScan) -> bool:
    """A 400 on the one listing of several campuses: the API does not take the list."""
    response = error.response
    return (
        response is not None
        and response.status_code == 400
        and scan.campus is None
        and scan.kind != "by_id"
    )
