"""The ``intra`` dlt source: the 42 intranet API v2, one resource per endpoint.

The caller builds the API client (``intra_api``) and passes it in, with a dict the live
resources write their sync reports into. Configuration follows dlt's conventions
(``.dlt/config.toml``, ``.dlt/secrets.toml`` or env vars): ``sources.intra.client_id`` /
``client_secret`` (``SOURCES__INTRA__CLIENT_ID`` ...), ``sources.intra.base_url`` (default
https://api.intra.42.fr), ``sources.intra.cursus_id`` (default 21) and the starting
rate-limit assumption ``requests_per_second`` / ``requests_per_hour`` (the client then learns
the real limits from the API's headers).

Reference resources are full snapshots (``write_disposition="replace"``). dlt only replaces a
table once its resource was extracted completely, and with the ``insert-from-staging``
strategy (set in ``.dlt/config.toml``) the replacement is one transaction: a run cut short
never empties or half-replaces a table.

Live resources are incremental (``write_disposition="merge"`` on id): each run reads what
changed since the last one, and a full run (``full=True``) re-reads everything and
deletes what the API no longer has (see ``incremental``).

Campus sessions (``locations``) are live too, but have no ``updated_at``: they are read by
their begin and end times (see ``locations``).

By-id resources run last: they read, by id, records the live listings imply but did not
return (users admitted to the cursus, whose ``updated_at`` did not move), into the same tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import dlt
from dlt.common.configuration import with_config
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.resource import DltResource

from pipelines.intra import locations
from pipelines.intra.api import IntraApi
from pipelines.intra.incremental import (
    DELETED_FLAG,
    FULL_RUN_MARKER,
    USERS_PER_SCAN,
    SyncReport,
    sync,
)
from pipelines.intra.overlap import ShortOverlap
from pipelines.intra.rate_limit import QuotaExhausted
from pipelines.intra.scope import ScopeTracker
from pipelines.intra.settings import (
    BY_ID_ENDPOINTS,
    DEFAULT_BASE_URL,
    DEFAULT_CURSUS_ID,
    LIVE_BOOKKEEPING,
    LIVE_ENDPOINTS,
    LOCATIONS_DAYS,
    LOCATIONS_RECHECK_HOURS,
    MIN_SNAPSHOT_RATIO,
    OVERLAP_SECONDS,
    PAGE_SIZE,
    REFERENCE_ENDPOINTS,
    REQUESTS_PER_HOUR,
    REQUESTS_PER_SECOND,
    Endpoint,
    column_hints,
)


class SnapshotTooSmall(Exception):
    """A full snapshot shrank so much that replacing the table would likely lose data."""


class MissingScope(Exception):
    """A live resource ran before the reference data that defines its scope."""


@with_config(sections=("sources", "intra"))
def intra_api(
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = REQUESTS_PER_SECOND,
    requests_per_hour: int = REQUESTS_PER_HOUR,
    page_size: int = PAGE_SIZE,
) -> IntraApi:
    """The API client of the ``sources.intra`` settings; the run builds one and passes it to
    the source, so that every resource shares its token and rate limiter.

    Args:
        client_id: UID of the 42 API application (``u-s4t2ud-...``).
        client_secret: its secret (``s-s4t2ud-...``); secrets expire and must be rotated.
        base_url: API root, without ``/v2``.
        requests_per_second: starting assumption for the per-application limit.
        requests_per_hour: starting assumption for the hourly limit.
        page_size: records per request; 100 is the API's maximum and costs the fewest calls.
    """
    if not 1 <= page_size <= PAGE_SIZE:
        raise ValueError(
            f"sources.intra.page_size must be between 1 and {PAGE_SIZE}, not {page_size}"
        )
    return IntraApi(
        base_url,
        client_id,
        client_secret,
        requests_per_second=requests_per_second,
        requests_per_hour=requests_per_hour,
        page_size=page_size,
    )


@dlt.source(name="intra", max_table_nesting=0)
def intra(
    api: IntraApi,
    reports: dict[str, SyncReport],
    cursus_id: int = DEFAULT_CURSUS_ID,
    min_snapshot_ratio: float = MIN_SNAPSHOT_RATIO,
    overlap_seconds: int = OVERLAP_SECONDS,
    locations_days: int = LOCATIONS_DAYS,
    locations_recheck_hours: int = LOCATIONS_RECHECK_HOURS,
    full: bool = False,
    unmatched_every: timedelta | None = None,
    short_overlap: ShortOverlap | None = None,
) -> list[DltResource]:
    """The 42 API's data for one cursus, read through ``api``.

    Args:
        api: the client every resource reads through (``intra_api``).
        reports: where each live and by-id resource puts the ``SyncReport`` of its sync, for
            the run's report (the caller owns it).
        cursus_id: the cursus whose projects and coalition blocs are extracted.
        min_snapshot_ratio: refuse a snapshot smaller than this share of the previous one
            (set ``SOURCES__INTRA__MIN_SNAPSHOT_RATIO=0`` for one run to accept a real shrink).
        overlap_seconds: how far each incremental window reaches back before the last one's end.
        locations_days: the days of campus sessions the first run (and a full run) reads.
        locations_recheck_hours: sessions open this long are read again by id, this often.
        full: re-read the live resources in full and delete what the API no longer has.
        unmatched_every: read the changes of the students without a primary campus (by user
            id, about a call per 100 of them) only this often; None: every run. The watch
            reads them at its pace for the other live resources, not every minute.
        short_overlap: the watch's windows reach back this instead of the whole overlap,
            but for a sweep now and then (see ``overlap``); None: the whole overlap always.
    """
    reference = [
        snapshot_resource(api, name, endpoint, cursus_id, min_snapshot_ratio)
        for name, endpoint in REFERENCE_ENDPOINTS.items()
    ]
    overlap = timedelta(seconds=overlap_seconds)
    if locations_days < 1 or locations_recheck_hours < 1:
        raise ValueError(
            "sources.intra.locations_days and sources.intra.locations_recheck_hours must be "
            f"at least 1, not {locations_days} and {locations_recheck_hours}"
        )
    recheck = timedelta(hours=locations_recheck_hours)
    sessions = SessionsSettings(overlap, locations_days, recheck, short_overlap)
    live = [
        sessions_resource(api, reports, name, endpoint, sessions, full)
        if name == "locations"
        else live_resource(
            api, reports, name, endpoint, cursus_id, overlap, full, unmatched_every, short_overlap
        )
        for name, endpoint in LIVE_ENDPOINTS.items()
    ]
    by_id = [
        users_by_id_resource(api, reports, name, endpoint, cursus_id)
        for name, endpoint in BY_ID_ENDPOINTS.items()
    ]
    return reference + live + by_id


def endpoint_request(endpoint: Endpoint, cursus_id: int) -> tuple[str, dict[str, str]]:
    """The path and query parameters of an endpoint for a cursus."""
    path = endpoint.path.format(cursus_id=cursus_id)
    params = {key: value.format(cursus_id=cursus_id) for key, value in endpoint.params.items()}
    return path, params


def snapshot_resource(
    api: IntraApi, name: str, endpoint: Endpoint, cursus_id: int, min_ratio: float
) -> DltResource:
    """A resource that replaces its table with a complete, sane snapshot of an endpoint."""
    path, params = endpoint_request(endpoint, cursus_id)

    def snapshot() -> Iterator[list[dict]]:
        # Source-level state: dlt resets a resource's own state on every "replace" load.
        sizes = dlt.current.source_state().setdefault("snapshot_rows", {})
        previous = sizes.get(name)
        rows = 0
        scope = ScopeTracker(name)
        for page in api.pages(name, path, params):
            rows += len(page)
            scope.see(page)
            yield page
        if previous and rows < previous * min_ratio:
            raise SnapshotTooSmall(
                f"{name}: the API returned {rows} records where the last snapshot had {previous}; "
                f"refusing to replace the table (a shrink below {min_ratio:.0%} is more likely an "
                "API fault than real deletions). If the shrink is real, run once with "
                "SOURCES__INTRA__MIN_SNAPSHOT_RATIO=0."
            )
        sizes[name] = rows
        scope.remember(dlt.current.source_state())

    return dlt.resource(
        snapshot,
        name=name,
        write_disposition="replace",
        primary_key="id",
        columns=column_hints(endpoint.columns),
    )


def unseen_ids(table: str) -> Callable[[str, int], list[int]]:
    """Ids of a raw table up to ``max_id`` that a full scan ``marker`` did not load."""

    def query(marker: str, max_id: int) -> list[int]:
        with dlt.current.pipeline().sql_client() as client:
            qualified = client.make_qualified_table_name(table)
            try:
                sql = (
                    f"select id from {qualified} "
                    f"where id <= %s and {FULL_RUN_MARKER} is distinct from %s "
                    f"and {DELETED_FLAG} is not true"  # already a tombstone
                )
                rows = client.execute_sql(sql, max_id, marker)
            except DatabaseUndefinedRelation:
                return []
        return [row[0] for row in rows or []]

    return query


def raw_rows(sql: str, *params, tables: tuple[str, ...]) -> list[tuple]:
    """The rows of a query on raw tables (``{name}`` in ``sql``), none while one is missing."""
    with dlt.current.pipeline().sql_client() as client:
        names = {table: client.make_qualified_table_name(table) for table in tables}
        try:
            rows = client.execute_sql(sql.format(**names), *params)
        except DatabaseUndefinedRelation:
            return []
    return list(rows or [])


def unmatched_users(cursus_id: int, campuses: list[int]) -> list[int]:
    """Students of the cursus at kept campuses none of whose rows there is primary.

    Whether the API's ``filter[campus]`` on projects_users matches them is unknown, so
    projects_users reads them by user id (``incremental.plan``). Read from raw.campus_users
    (loaded earlier in the same run) and raw.cursus_users: enrolment narrows them to the
    people the marts can hold. A student who moved to a campus out of scope looks the same
    here; reading them costs a call per 100 such users per run, and dbt drops them."""
    sql = """
        select campus_users.user_id
        from {campus_users} as campus_users
        where
            campus_users.campus_id = any(%s::bigint[])
            and campus_users.user_id in (
                select ("user" ->> 'id')::bigint from {cursus_users} where cursus_id = %s
            )
        group by campus_users.user_id
        having not bool_or(coalesce(campus_users.is_primary, false))
        order by 1
    """
    rows = raw_rows(sql, list(campuses), cursus_id, tables=("campus_users", "cursus_users"))
    return [row[0] for row in rows]


def missing_users(cursus_id: int, table: str = "users", user_id: str = "id") -> list[int]:
    """Users enrolled in the cursus (raw.cursus_users) that ``table`` (raw.users, or
    raw.campus_users, whose column ``user_id`` names the user) holds no row of.

    Only enrolment in the configured cursus counts: other listings (achievements_users covers
    the whole network) name people the cursus's users listing never returns, and asking for
    them would cost calls every run for nothing."""
    sql = """
        select distinct ("user" ->> 'id')::bigint as user_id
        from {cursus_users} as cursus_users
        where
            cursus_id = %s
            and not exists (
                select from {held} as held
                where held.{user_id} = ("user" ->> 'id')::bigint and held.{deleted} is not true
            )
        order by 1
    """
    sql = sql.replace("{deleted}", DELETED_FLAG).replace("{user_id}", user_id)
    sql = sql.replace("{held}", "{" + table + "}")
    return [row[0] for row in raw_rows(sql, cursus_id, tables=("cursus_users", table))]


def users_by_id_resource(
    api: IntraApi, reports: dict[str, SyncReport], name: str, endpoint: Endpoint, cursus_id: int
) -> DltResource:
    """A resource that merges into its table (raw.users, raw.campus_users) the rows of the
    enrolled users it lacks, read by user id.

    It runs after the live resources, so that an admission seen by cursus_users this run is
    completed in the same run. Ids the API does not return are remembered in the resource's
    state and not asked again (each would cost a call every run); they are named in a warning
    once. A full run (``make elt-full``) re-reads every user anyway. Narrowed to a scope
    (campus_users: the kept campuses), an id not returned is a user of another campus: asked
    once, remembered, and no warning."""
    path, _ = endpoint_request(endpoint, cursus_id)
    table = endpoint.table or name
    user_id = "id" if table == "users" else "user_id"  # how its records name their user

    def by_id() -> Iterator[list[dict]]:
        report = reports[name] = SyncReport()
        state = dlt.current.resource_state()
        listing_state = dlt.current.source_state().get("resources", {}).get(table, {})
        if not listing_state.get("window_end"):
            return  # the listing itself has not been read in full yet: it brings them all
        wanted = missing_users(cursus_id, table, user_id)
        unanswered = set(state.get("not_returned", [])) & set(wanted)  # forget the found
        ask = [i for i in wanted if i not in unanswered]
        narrowed = {}  # the listing's scope filter, when it has one
        if endpoint.scope:
            scope = dlt.current.source_state().get("scope", {}).get(endpoint.scope, [])
            narrowed[endpoint.scope_filter] = ",".join(map(str, scope))
        for i in range(0, len(ask), USERS_PER_SCAN):
            batch = ask[i : i + USERS_PER_SCAN]
            report.scans.append("by_id")
            report.scan_records.append(0)
            returned: set[int] = set()
            try:
                ids = {endpoint.id_filter: ",".join(map(str, batch)), **narrowed}
                for page in api.pages(name, path, ids):
                    returned.update(r[user_id] for r in page)
                    report.records += len(page)
                    report.scan_records[-1] += len(page)
                    yield page
            except QuotaExhausted as stop:
                report.stopped = stop  # what was read is loaded; the rest is asked next run
                break
            lost = sorted(set(batch) - returned)
            if lost and not endpoint.scope:
                shown = ", ".join(map(str, lost[:10])) + (", ..." if len(lost) > 10 else "")
                report.warnings.append(
                    f"{len(lost)} user(s) enrolled in cursus {cursus_id} not returned by "
                    f"/v2/{path} (ids {shown}); remembered and not asked for again"
                )
            unanswered.update(lost)
        state["not_returned"] = sorted(unanswered)

    return dlt.resource(
        by_id,
        name=name,
        table_name=table,
        write_disposition="merge",
        primary_key="id",
        columns=column_hints({**endpoint.columns, **LIVE_BOOKKEEPING}),
    )


def live_resource(
    api: IntraApi,
    reports: dict[str, SyncReport],
    name: str,
    endpoint: Endpoint,
    cursus_id: int,
    overlap: timedelta,
    full: bool,
    unmatched_every: timedelta | None = None,
    short_overlap: ShortOverlap | None = None,
) -> DltResource:
    """A resource that merges what changed since its last run (or everything, in a full run)."""
    path, _ = endpoint_request(endpoint, cursus_id)

    def changes() -> Iterator[list[dict]]:
        scope = None
        if endpoint.scope:
            scope = dlt.current.source_state().get("scope", {}).get(endpoint.scope)
            if scope is None:
                raise MissingScope(
                    f"{name} is narrowed to the kept {endpoint.scope}, which the campus and blocs "
                    "resources define: run them first (make elt runs every resource in order)"
                )
        report = reports[name] = SyncReport()
        state = dlt.current.resource_state()
        source_state = dlt.current.source_state()
        arrivals = source_state.get("arrivals", []) if endpoint.reads_arrivals else []
        unmatched = unmatched_users(cursus_id, scope or []) if endpoint.reads_arrivals else []

        def forget_arrivals(scan) -> None:
            if scan.users:
                left = set(source_state.get("arrivals", [])) - set(scan.users)
                source_state["arrivals"] = sorted(left)
            elif scan.kind == "full" and endpoint.reads_arrivals:
                source_state["arrivals"] = []  # a full run read everybody's history

        pages = sync(
            api,
            name,
            path,
            state,
            overlap=overlap,
            full=full,
            scope=scope,
            scope_filter=endpoint.scope_filter,
            unseen_ids=unseen_ids(name),
            report=report,
            arrivals=arrivals,
            unmatched=unmatched,
            unmatched_every=unmatched_every,
            short=short_overlap,
            on_scan_done=forget_arrivals,
        )
        # Only changes after a first full read can be arrivals or new users.
        watching = bool(state.get("window_end")) and not full
        since = state.get("window_end")
        new_users: set[int] = set()
        known_new = set(source_state.get("new_users", []))  # reported by this run's users
        for page in pages:
            if watching and endpoint.reports_new_users:
                new_users.update(r["id"] for r in page if (r.get("created_at") or "") >= since)
            if watching and endpoint.reports_arrivals:
                joined = {
                    r["user_id"]
                    for r in page
                    if r["is_primary"]
                    and r["campus_id"] in (scope or [])
                    and r["user_id"] not in known_new
                }
                if joined:
                    source_state["arrivals"] = sorted(
                        set(source_state.get("arrivals", [])) | joined
                    )
            yield page
        if endpoint.reports_new_users:
            source_state["new_users"] = sorted(new_users)  # whose whole history is this window's
        if endpoint.reports_arrivals:
            source_state.pop("new_users", None)  # used: stale ids must not hide a later transfer

    return dlt.resource(
        changes,
        name=name,
        write_disposition="merge",
        primary_key="id",
        columns=column_hints({**endpoint.columns, **LIVE_BOOKKEEPING}),
    )


@dataclass(frozen=True)
class SessionsSettings:
    """How the campus sessions are read: the windows' overlap (and the watch's short one),
    the days a first (or full) run reads, how long a session stays open before it is read
    again by id."""

    overlap: timedelta
    days: int
    recheck: timedelta
    short: ShortOverlap | None = None


def raw_sessions(table: str) -> locations.RawSessions:
    """The raw table's answers the sessions' sync needs (none before its first load)."""
    alive = f"{DELETED_FLAG} is not true"
    whose = "id, user_id, campus_id, begin_at"

    def open_before(moment: str) -> list[int]:
        sql = f"select id from {{{table}}} where {alive} and end_at is null and begin_at < %s"
        return sorted(row[0] for row in raw_rows(sql, moment, tables=(table,)))

    def rows_of(ids: list[int]) -> list[tuple]:
        sql = f"select {whose} from {{{table}}} where {alive} and id = any(%s) order by 1"
        return raw_rows(sql, ids, tables=(table,))

    def unseen(marker: str, start: str, open_too: bool) -> list[tuple]:
        sql = (
            f"select {whose} from {{{table}}} where {alive} "
            f"and {FULL_RUN_MARKER} is distinct from %s "
            "and (begin_at >= %s or (end_at is null and %s)) order by 1"
        )
        return raw_rows(sql, marker, start, open_too, tables=(table,))

    return locations.RawSessions(open_before, rows_of, unseen)


def sessions_resource(
    api: IntraApi,
    reports: dict[str, SyncReport],
    name: str,
    endpoint: Endpoint,
    settings: SessionsSettings,
    full: bool,
) -> DltResource:
    """The campus sessions of the kept campuses (``locations``), merged on id."""

    def changes() -> Iterator[list[dict]]:
        campuses = dlt.current.source_state().get("scope", {}).get(endpoint.scope)
        if campuses is None:
            raise MissingScope(
                f"{name} is narrowed to the kept campuses, which the campus resource defines: "
                "run it first (make elt runs every resource in order)"
            )
        report = reports[name] = SyncReport()
        if not campuses:
            return  # no kept campus: nothing to read (an empty filter would read them all)
        yield from locations.sync(
            api,
            name,
            dlt.current.resource_state(),
            overlap=settings.overlap,
            full=full,
            campuses=campuses,
            days=settings.days,
            recheck=settings.recheck,
            raw=raw_sessions(name),
            report=report,
            short=settings.short,
        )

    return dlt.resource(
        changes,
        name=name,
        write_disposition="merge",
        primary_key="id",
        columns=column_hints({**endpoint.columns, **LIVE_BOOKKEEPING}),
    )
