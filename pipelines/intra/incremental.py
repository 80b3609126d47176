"""Incremental reading of a live listing: ``updated_at`` windows, resumable scans, deletions.

Each live resource keeps, in its dlt resource state (saved with the data it loads, so state
only ever advances with loaded data):

- ``window_end``: the upper bound of the last complete window. The next window reads
  ``range[updated_at]=<window_end - overlap>,<server now>``; the upper bound is fixed when the
  run starts, and the overlap catches records committed late. A first run has no lower bound:
  it backfills everything. ``sweep_end``: under the watch, where the last window that reached
  back the whole overlap ended (the others reach back less: ``overlap``).
- ``scans``: the scans still to do, each with the id it has read up to. Listings are read by
  keyset on id (see ``paginator``), so a scan cut short (hourly quota spent) resumes after
  the last id it loaded, and records that change while we page cannot hide others.
- ``covered``: the scope filter values (kept campuses, coalitions) already backfilled; a value
  new to the scope gets a catch-up scan of its whole history.
- ``unmatched``: users of the scope whom the scope filter may not match (see ``plan``) and
  whose whole history was already read by user id; later runs read them within the window.

A full run (``make elt-full``) is a scan without ``updated_at`` bounds. Every record it
loads is marked with the scan's id (``_intra_full_run``); when the scan completes, the rows of
the raw table it did not see (and that are older than the last id it read) are gone from the
API: they are loaded as tombstones, rows that keep only the id, ``_intra_deleted`` and the
load that found them. They replace the row (merge on id) and stay in raw, because the marts are
built incrementally on top of an earlier build: a deletion must be something a later build
can read (the ``stg_intra__deleted_<table>`` models), like any other change, or the rows it
removed come back from the build it starts from. The staging models leave tombstones out.

Why not ``dlt.sources.incremental``: it keeps the largest ``updated_at`` seen, which is a
valid resume point only if records arrive in ``updated_at`` order. Keyset pages come in id
order (the only order that cannot skip rows), so a scan stopped half-way must resume from an
id, not from a timestamp.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from pipelines.intra.api import IntraApi
from pipelines.intra.overlap import ShortOverlap, earliest_reread, end_windows, window_start
from pipelines.intra.rate_limit import QuotaExhausted
from pipelines.intra.rereads import Rereads
from pipelines.intra.stamps import parse, stamp

log = logging.getLogger("intra.progress")
FULL_RUN_MARKER = "_intra_full_run"
# What full scans were called before they had the full run's name. One saved by an older
# version (cut short by the quota) is not resumed: the rows it read are marked in the old
# column (``_intra_reconcile``), so finishing it would take them for deleted.
RENAMED_SCAN_KINDS = ("reconcile", "reconcile_users")
DELETED_FLAG = "_intra_deleted"


@dataclass
class Scan:
    """One pass over a listing: a window, a catch-up for new scope values, or a full scan."""

    # "window" | "catch_up" | "catch_up_users" | "window_users" | "full" | "full_users"
    kind: str
    start: str | None  # updated_at lower bound; None: since the beginning
    end: str | None  # updated_at upper bound; None: no bound (full)
    scope: list[int] = field(default_factory=list)  # values of the scope filter, if any
    after_id: int | None = None  # last id loaded by this scan
    started: str = ""  # server time when the scan was planned
    users: list[int] = field(default_factory=list)  # *_users scans: whose records to read
    sweep: bool = False  # window: reaches back the whole overlap (overlap.py)

    def params(self, scope_filter: str | None) -> dict[str, str]:
        params = {}
        if self.end is not None:
            params["range[updated_at]"] = f"{self.start or '1970-01-01T00:00:00Z'},{self.end}"
        if self.users:
            params["filter[user_id]"] = ",".join(map(str, self.users))
        elif scope_filter:
            params[scope_filter] = ",".join(map(str, self.scope))
        return params


USERS_PER_SCAN = 100  # ids per filter[user_id]: a short URL, and usually one page
WINDOWS = ("window", "window_users")  # the scans that read the last overlap again


def user_scans(kind: str, start: str | None, end: str | None, users, started: str) -> list[Scan]:
    """Scans reading the records of ``users`` by user id, ``USERS_PER_SCAN`` at a time."""
    users = sorted(set(users))
    return [
        Scan(kind, start, end, started=started, users=users[i : i + USERS_PER_SCAN])
        for i in range(0, len(users), USERS_PER_SCAN)
    ]


def plan(
    state: dict,
    now: datetime,
    overlap: timedelta,
    scope: list[int] | None,
    full: bool,
    arrivals: list[int] = (),
    unmatched: list[int] = (),
    unmatched_every: timedelta | None = None,
    short: ShortOverlap | None = None,
) -> list[Scan]:
    """The scans of this run: unfinished ones first, then what this run asks for.

    ``arrivals`` are users who just joined a kept campus: a listing narrowed to the users of
    kept campuses never read their earlier history, so it is read for them by user id.

    ``unmatched`` are users of the scope whom the scope filter may not match (students of a
    kept campus without a primary campus_users row: whether the API's ``filter[campus]``
    finds them is unknown). They are read by user id on every run: their whole history the
    first time (and in a full run), then what changed in the window. When the filter
    does match them, the window scan drops what these scans already yielded (``sync``).
    With ``unmatched_every``, their windows are read only that often, each from where the
    last one ended (``unmatched_window_end``). With ``short`` (the watch), the window
    reaches back a short overlap between sweeps (see ``overlap``)."""
    saved = state.get("scans", [])
    if any(s["kind"] in RENAMED_SCAN_KINDS for s in saved):
        saved = []  # started again: the rows it had read carry the marker column of old
    scans = [Scan(**s) for s in saved]
    if scans:
        return scans
    end = stamp(now)
    scope = sorted(scope) if scope is not None else []
    if full:
        # the user scans first: the full scan must know their records were seen
        full_users = user_scans("full_users", None, None, unmatched, end)
        return [*full_users, Scan("full", None, None, scope, started=end)]
    covered = state.get("covered")
    window_end = state.get("window_end")
    new_values = sorted(set(scope) - set(covered or []))
    if window_end and covered is not None and new_values:
        scans.append(Scan("catch_up", None, end, new_values, started=end))
    read = set(state.get("unmatched", []))
    first_seen = set(unmatched) - read
    history = first_seen | set(arrivals) if window_end else first_seen
    scans += user_scans("catch_up_users", None, end, history, end)
    start, sweep = None, True
    if window_end:
        start, sweep = window_start(state, now, overlap, short)
        users_end = parse(state.get("unmatched_window_end") or window_end)
        if unmatched_every is None or now - users_end >= unmatched_every:
            users_start = stamp(min(users_end, parse(window_end)) - overlap)
            scans += user_scans("window_users", users_start, end, set(unmatched) & read, end)
    scans.append(Scan("window", start, end, scope, started=end, sweep=sweep))
    return scans


@dataclass
class SyncReport:
    """What one resource's sync did, for the run summary."""

    records: int = 0
    unchanged: int = 0  # records read again as they were loaded: not loaded (rereads.py)
    deleted: int = 0
    scans: list[str] = field(default_factory=list)
    scan_records: list[int] = field(default_factory=list)  # records read by each scan
    stopped: QuotaExhausted | None = None
    read_in_full: bool = False
    warnings: list[str] = field(default_factory=list)  # for the run's output
    listing: str = ""  # locations: one listing for every kept campus, or one per campus


def sync(
    api: IntraApi,
    name: str,
    path: str,
    state: dict,
    *,
    overlap: timedelta,
    full: bool,
    scope: list[int] | None,
    scope_filter: str | None,
    unseen_ids: Callable[[str, int], list[int]],
    report: SyncReport,
    arrivals: list[int] = (),
    unmatched: list[int] = (),
    unmatched_every: timedelta | None = None,
    short: ShortOverlap | None = None,
    on_scan_done: Callable[[Scan], None] = lambda scan: None,
) -> Iterator[list[dict]]:
    """Yield the pages of every scan due, keeping ``state`` at the last loaded id.

    ``unseen_ids(marker, max_id)`` returns the ids of the raw table not marked by a full scan.
    On a spent hourly quota the sync stops cleanly: what it read is loaded, its place kept.
    """
    scans = plan(
        state, api.server_now(), overlap, scope, full, arrivals, unmatched, unmatched_every, short
    )
    state["scans"] = [asdict(s) for s in scans]
    unmatched = set(unmatched)
    # Forget who has a primary campus again: should they lose it later, read them in full.
    state["unmatched"] = sorted(set(state.get("unmatched", [])) & unmatched)
    earlier: set[int] = set()  # ids yielded by this run's earlier scans (catch-ups are small)
    rereads = Rereads(state, lambda record: record.get("updated_at"))
    while scans:
        scan = scans[0]
        report.scans.append(scan.kind)
        report.scan_records.append(0)
        seen_now: set[int] = set()
        # An empty scope (no kept coalition, say) has nothing to read: sent as an empty
        # filter, which the API ignores, it would read the whole network instead.
        empty_scope = bool(scope_filter) and not scan.users and not scan.scope
        pages = (
            ()
            if empty_scope
            else api.pages(name, path, scan.params(scope_filter), after_id=scan.after_id)
        )
        try:
            for page in pages:
                last_id = page[-1]["id"] if page else scan.after_id
                if earlier:  # one load must not hold a record twice (the table's key is unique)
                    page = [r for r in page if r["id"] not in earlier]
                if len(scans) > 1:
                    earlier.update(r["id"] for r in page)
                if scan.kind in ("full", "full_users"):
                    for record in page:
                        record[FULL_RUN_MARKER] = scan.started
                    seen_now.update(r["id"] for r in page)
                report.records += len(page)
                report.scan_records[-1] += len(page)
                if scan.kind in WINDOWS and scan.start is not None:  # not a first run's
                    page = rereads.changed(page)
                    report.unchanged = rereads.skipped
                yield page
                scan.after_id = max(scan.after_id or 0, last_id or 0)
                state["scans"] = [asdict(s) for s in scans]
        except QuotaExhausted as stop:
            report.stopped = stop
            log.info(
                "%s: hourly quota spent; %s scan saved after id %s", name, scan.kind, scan.after_id
            )
            return
        if scan.kind == "full":
            unseen = unseen_ids(scan.started, scan.after_id or 0)
            gone = [i for i in unseen if i not in seen_now and i not in earlier]
            if gone:
                report.deleted += len(gone)
                yield [{"id": i, DELETED_FLAG: True} for i in gone]
            report.read_in_full = True
            end_windows(state, scan.started, sweep=True)  # changes during the scan: next window
        elif scan.kind == "window":
            end_windows(state, scan.end, scan.sweep)
            # what neither the next windows nor the next window of the users read by id reads
            users_end = parse(state.get("unmatched_window_end") or scan.end)
            rereads.forget_before(stamp(min(earliest_reread(state, overlap), users_end - overlap)))
        if scan.kind == "catch_up":
            state["covered"] = sorted(set(state.get("covered") or []) | set(scan.scope))
        elif scan.kind in ("window", "full"):  # what a full-scope scan covered: the scope
            state["covered"] = scan.scope
        if scan.kind in ("window_users", "full_users"):
            state["unmatched_window_end"] = scan.end or scan.started
        if scan.kind in ("catch_up_users", "full_users"):  # whole histories read
            read = set(state.get("unmatched", [])) | (set(scan.users) & unmatched)
            state["unmatched"] = sorted(read)
        on_scan_done(scan)
        scans.pop(0)
        state["scans"] = [asdict(s) for s in scans]
