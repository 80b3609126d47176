"""What the ``intra`` source extracts, and the raw tables it lands in.

Every resource is one API endpoint. The column hints below are the contract of the ``raw``
schema that dbt's staging models read: dlt would otherwise leave out a column whose values
are all null in the first load, or guess a type from the first values it sees. Nested objects
and lists stay ``json`` (``jsonb`` in PostgreSQL): the source uses ``max_table_nesting=0``.
Keys the API ends with ``?`` (``alumni?``) land as ``is_<name>`` (``is_alumni``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BASE_URL = "https://api.intra.42.fr"
DEFAULT_CURSUS_ID = 21
# The API's page size ceiling: every page costs one call, so always ask for the largest.
PAGE_SIZE = 100
# The documented default limits of an application; the client learns the real ones from the
# X-Secondly-RateLimit-Limit / X-Hourly-RateLimit-Limit headers of the first response.
REQUESTS_PER_SECOND = 2
REQUESTS_PER_HOUR = 1200
# A full snapshot that comes back smaller than this share of the previous one is refused
# rather than allowed to wipe the table (an API glitch returning [] must not empty campuses).
MIN_SNAPSHOT_RATIO = 0.5


# How far back each incremental window reaches before the end of the previous one, to catch
# records whose updated_at was set a little before they became visible.
OVERLAP_SECONDS = 300
# Under the watch (a tick a minute), most windows reach back only this much, and one every
# few minutes (a sweep) the whole overlap from where the last sweep ended (see overlap.py):
# a record a tick's window misses is late by more than this, rare, and the sweep reads it.
TICK_OVERLAP_SECONDS = 30
# Campus sessions (locations): the first run reads the sessions of the last 30 days (the
# longest span the analytics count, a student's logtime of the last 30 days). At network
# scale that is about 14,000 sessions a day, so 30 days cost about 4,300 calls, 3.6 hours of
# the hourly quota, spread over runs that stop with exit 3 and resume. A full run reads the
# same span again. Sessions still open this many hours after they began are read again by id,
# once every as many hours (see locations.py).
LOCATIONS_DAYS = 30
LOCATIONS_RECHECK_HOURS = 12


@dataclass(frozen=True)
class Endpoint:
    """One API listing and the raw table it lands in."""

    path: str  # relative to /v2, may contain {cursus_id}
    columns: dict[str, str]  # raw column -> dlt data type
    params: dict[str, str] = field(default_factory=dict)  # values may contain {cursus_id}
    # Live endpoints only: a filter narrowing the listing to the kept scope, and which scope
    # ("campuses": active and public campuses; "coalitions": the cursus's coalitions there).
    scope_filter: str | None = None
    scope: str | None = None
    # campus_users reports users who just joined a kept campus, except brand-new users (the
    # users resource reports those); projects_users, narrowed to the users of kept campuses,
    # then reads the earlier history of the others (transfers) by user id, and the records
    # of students without a primary campus (whom the campus filter may not match).
    reports_new_users: bool = False
    reports_arrivals: bool = False
    reads_arrivals: bool = False
    # The raw table, when it is not the resource's name (a second resource feeding a table).
    table: str | None = None
    # Another path the resource reads (``{campus_id}`` in it): calls there count as its own.
    fallback_path: str | None = None
    # By-id endpoints only: the filter that takes a list of user ids.
    id_filter: str | None = None


TIMESTAMPS = {"created_at": "timestamp", "updated_at": "timestamp"}

REFERENCE_ENDPOINTS: dict[str, Endpoint] = {
    # Every cursus (76 on the real network); the marts keep the configured one.
    "cursus": Endpoint(
        path="cursus",
        columns={
            "id": "bigint",
            "created_at": "timestamp",
            "name": "text",
            "slug": "text",
            "kind": "text",
        },
    ),
    # Every campus, active or not; the marts keep active and public ones.
    "campus": Endpoint(
        path="campus",
        columns={
            "id": "bigint",
            "name": "text",
            "time_zone": "text",
            "language": "json",
            "users_count": "bigint",
            "vogsphere_id": "bigint",
            "country": "text",
            "address": "text",
            "zip": "text",
            "city": "text",
            "website": "text",
            "facebook": "text",
            "twitter": "text",
            "active": "bool",
            "public": "bool",
            "email_extension": "text",
            "default_hidden_phone": "bool",
            "endpoint": "json",
        },
    ),
    # Projects of the cursus, with their campuses and sessions nested.
    "projects": Endpoint(
        path="cursus/{cursus_id}/projects",
        columns={
            "id": "bigint",
            "name": "text",
            "slug": "text",
            "difficulty": "bigint",
            "parent": "json",
            "children": "json",
            "attachments": "json",
            **TIMESTAMPS,
            "exam": "bool",
            "git_id": "bigint",
            "repository": "text",
            "recommendation": "text",
            "cursus": "json",
            "campus": "json",
            "videos": "json",
            "project_sessions": "json",
        },
    ),
    # Every achievement; `campus` lists the names of the campuses offering it.
    "achievements": Endpoint(
        path="achievements",
        columns={
            "id": "bigint",
            "name": "text",
            "description": "text",
            "tier": "text",
            "kind": "text",
            "visible": "bool",
            "image": "text",
            "nbr_of_success": "bigint",
            "users_url": "text",
            "achievements": "json",
            "campus": "json",
            "parent": "json",
            "title": "json",
        },
    ),
    # Coalition blocs of the cursus, one per campus, with their coalitions nested.
    "blocs": Endpoint(
        path="blocs",
        params={"filter[cursus_id]": "{cursus_id}"},
        columns={
            "id": "bigint",
            "campus_id": "bigint",
            "cursus_id": "bigint",
            "squad_size": "bigint",
            **TIMESTAMPS,
            "coalitions": "json",
        },
    ),
}


LIGHT_USER_COLUMNS = {
    "id": "bigint",
    "email": "text",
    "login": "text",
    "first_name": "text",
    "last_name": "text",
    "usual_full_name": "text",
    "usual_first_name": "text",
    "url": "text",
    "phone": "text",
    "displayname": "text",
    "kind": "text",
    "image": "json",
    "is_staff": "bool",
    "correction_point": "bigint",
    "pool_month": "text",
    "pool_year": "text",
    "location": "text",
    "wallet": "bigint",
    "anonymize_date": "timestamp",
    "data_erasure_date": "timestamp",
    **TIMESTAMPS,
    "alumnized_at": "timestamp",
    "is_alumni": "bool",
    "is_active": "bool",
}

# Live data: read incrementally (updated_at windows), merged on id.
LIVE_ENDPOINTS: dict[str, Endpoint] = {
    # Users enrolled in the cursus (light user objects).
    "users": Endpoint(
        path="cursus/{cursus_id}/users",
        reports_new_users=True,
        columns=LIGHT_USER_COLUMNS,
    ),
    # Enrolments in the cursus: level, grade, blackhole, with the user nested.
    "cursus_users": Endpoint(
        path="cursus/{cursus_id}/cursus_users",
        columns={
            "id": "bigint",
            "begin_at": "timestamp",
            "end_at": "timestamp",
            "grade": "text",
            "level": "double",
            "skills": "json",
            "cursus_id": "bigint",
            "has_coalition": "bool",
            "blackholed_at": "timestamp",
            **TIMESTAMPS,
            "user": "json",
            "cursus": "json",
        },
    ),
    # Which campus each user belongs to (is_primary marks the main one).
    "campus_users": Endpoint(
        path="campus_users",
        scope_filter="filter[campus_id]",
        scope="campuses",
        reports_arrivals=True,
        columns={
            "id": "bigint",
            "user_id": "bigint",
            "campus_id": "bigint",
            "is_primary": "bool",
            **TIMESTAMPS,
        },
    ),
    # Project registrations and marks of the users of kept campuses.
    "projects_users": Endpoint(
        path="projects_users",
        scope_filter="filter[campus]",
        scope="campuses",
        reads_arrivals=True,
        columns={
            "id": "bigint",
            "occurrence": "bigint",
            "final_mark": "bigint",
            "status": "text",
            "is_validated": "bool",
            "current_team_id": "bigint",
            "project": "json",
            "cursus_ids": "json",
            "marked_at": "timestamp",
            "marked": "bool",
            "retriable_at": "timestamp",
            **TIMESTAMPS,
            "user": "json",
            "teams": "json",
        },
    ),
    # Achievements earned, by user.
    "achievements_users": Endpoint(
        path="achievements_users",
        columns={
            "id": "bigint",
            "achievement_id": "bigint",
            "user_id": "bigint",
            "login": "text",
            "nbr_of_success": "bigint",
            "url": "text",
            **TIMESTAMPS,
        },
    ),
    # Coalition memberships with score and rank, for the kept coalitions.
    "coalitions_users": Endpoint(
        path="coalitions_users",
        scope_filter="filter[coalition_id]",
        scope="coalitions",
        columns={
            "id": "bigint",
            "coalition_id": "bigint",
            "user_id": "bigint",
            "score": "bigint",
            "rank": "bigint",
            **TIMESTAMPS,
        },
    ),
    # Campus sessions at kept campuses, read by begin_at and end_at (they have no updated_at;
    # see locations.py); the nested user object is kept as its id only.
    "locations": Endpoint(
        path="locations",
        fallback_path="campus/{campus_id}/locations",
        scope_filter="filter[campus_id]",
        scope="campuses",
        columns={
            "id": "bigint",
            "begin_at": "timestamp",
            "end_at": "timestamp",
            "primary": "bool",
            "host": "text",
            "campus_id": "bigint",
            "user_id": "bigint",
        },
    ),
}
# Read after the live resources, into their tables. An admission to the cursus (a pisciner
# who passed) creates a cursus_user but does not move the user's updated_at: the users
# listing, read by updated_at, never shows them, while their enrolment and projects arrive.
# So the users enrolled in the cursus (raw.cursus_users) that raw.users lacks are read by id,
# 100 a call; when none is missing this costs no call. The same for their campus: a new
# account (a transfer) comes with its campus_users row, which the listing brings only at its
# own cadence under the watch (five minutes), and the student is in the marts only once
# their campus is known: the enrolled users raw.campus_users lacks are read by user id.
BY_ID_ENDPOINTS: dict[str, Endpoint] = {
    "users_by_id": Endpoint(
        path="cursus/{cursus_id}/users",
        table="users",
        columns=LIGHT_USER_COLUMNS,
        id_filter="filter[id]",
    ),
    # narrowed to the kept campuses as the listing is: raw.campus_users holds their rows only
    "campus_users_by_id": Endpoint(
        path="campus_users",
        table="campus_users",
        columns=LIVE_ENDPOINTS["campus_users"].columns,
        scope_filter="filter[campus_id]",
        scope="campuses",
        id_filter="filter[user_id]",
    ),
}
# Bookkeeping columns of live raw tables (see incremental.py). A tombstone (``_intra_deleted``)
# replaces its row on merge and stays: the deletion is data that later builds read, not a
# hard delete that only the build of the same run could see.
LIVE_BOOKKEEPING = {"_intra_full_run": "text", "_intra_deleted": "bool"}


def column_hints(columns: dict[str, str]) -> dict[str, dict]:
    """dlt column hints from ``{name: data_type}``.

    ``id`` is the non-null primary key, and ``unique``: dlt then creates a UNIQUE constraint
    (and its index) in PostgreSQL, so a snapshot holding a duplicate id fails to load instead
    of publishing it, and merges find rows by id through the index.
    """
    hints = {
        name: {"data_type": data_type, "nullable": True} for name, data_type in columns.items()
    }
    if "id" in hints:
        hints["id"].update(nullable=False, primary_key=True, unique=True)
    return hints
