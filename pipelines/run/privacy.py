"""GDPR erasure in the raw tables: anonymized users lose every personal field.

A user is anonymized when the intra says so (login ``3b3-<id>``) or when their
``anonymize_date`` has passed, even if the API has not caught up yet (docs/api-behaviours.md,
anonymization).
Their rows stay (id and progress are not personal), but after every run:

- ``raw.users``: login becomes the API's own pseudonym ``3b3-<id>``; e-mail, names, display
  name, phone, photo, profile URL and seat location become null;
- the copies of the user nested in ``raw.cursus_users`` / ``raw.projects_users`` get the same
  treatment, and ``raw.achievements_users`` loses login and URL;
- every project team they were in, in their rows and in their teammates': the member gets
  the pseudonym, and the team's free text (name, repository path) becomes null, whatever it
  says (see ``SCRUBBED_TEAMS``);
- their campus sessions (``raw.locations``) lose the seat they were at (``host``); the
  sessions of people ``raw.users`` does not hold (whose anonymization the ELT cannot see)
  are kept only for the days a first run reads (``locations_days``);
- the previous build of the marts (``marts__build``, kept for the next incremental build)
  gets the same erasure as the published one (``erase_anonymized_in_previous_marts``).

The marts get the same erasure from the staging models. dlt keeps no copy: loaded packages
are deleted and the staging dataset truncated after each load (``.dlt/config.toml``).
This is plain SQL run after the loads, because it rewrites rows no new API data touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipelines.database import Database, existing_tables
from pipelines.run.publish import BUILD

PERSONAL_USER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "usual_full_name",
    "usual_first_name",
    "displayname",
    "phone",
    "image",
    "url",
    "location",
)

ANONYMIZED_IDS = """
    create temporary table anonymized on commit drop as
    select id, '3b3-' || id as pseudonym
    from raw.users
    where login like '3b3-%%' or anonymize_date < %(as_of)s;
    -- a temporary table gets no statistics unless asked: without them PostgreSQL plans the
    -- joins below for a thousand ids, whatever their number
    analyze anonymized
"""

# The teams that name an anonymized user: found by the ids of their members (the index
# projects_users_team_member_ids of raw_indexes), whatever their text says, because an old
# login may come back with any later load (the API may not rename a team, or not yet) and by
# then no other copy of it is left to search for. Such a team keeps its ids, dates and
# marks; its free text (name, repository path and id) becomes null, and its anonymized
# members get the pseudonym as login and in their URL.
TEAM_MEMBER_IDS = "jsonb_path_query_array({teams}, '$[*].users[*].id')"
TEXT_OF_A_TEAM = ("name", "repo_url", "repo_uuid", "project_gitlab_path")
_MEMBERS = """
    select jsonb_agg(
        case
            when a.id is null then m.member
            else m.member || jsonb_build_object(
                'login', a.pseudonym, 'url', 'https://api.intra.42.fr/v2/users/' || a.pseudonym
            )
        end
        order by m.ord
    )
    from jsonb_array_elements(t.team -> 'users') with ordinality as m (member, ord)
    left join anonymized as a on (m.member ->> 'id')::bigint = a.id
"""
SCRUBBED_TEAMS = f"""
    create temporary table scrubbed_teams on commit drop as
    -- materialized: the candidates are found once, through the index, one anonymized user
    -- at a time; folded into the outer query, PostgreSQL tested every registration against
    -- every anonymized id (13 minutes of a network-scale backfill)
    -- Only the teams still holding something to erase: an anonymized member whose login or
    -- URL is not the pseudonym's, or text (the teams erased by earlier runs are most of
    -- those naming an anonymized user: rebuilding them all took 6 s a tick at network scale).
    with candidates as materialized (
        select distinct candidate.id
        from raw.projects_users as candidate
        inner join anonymized
            on {TEAM_MEMBER_IDS.format(teams="candidate.teams")}
            @> jsonb_build_array(anonymized.id)
        where exists (
            select
            from jsonb_array_elements(candidate.teams) as t (team)
            cross join jsonb_array_elements(t.team -> 'users') as m (member)
            where (m.member ->> 'id')::bigint = anonymized.id
              and (
                {" or ".join(f"t.team ->> '{field}' is not null" for field in TEXT_OF_A_TEAM)}
                or m.member ->> 'login' is distinct from anonymized.pseudonym
                or m.member ->> 'url'
                    is distinct from 'https://api.intra.42.fr/v2/users/' || anonymized.pseudonym
              )
        )
    )
    select
        p.id,
        (
            select jsonb_agg(
                case
                    when exists (
                            select from jsonb_array_elements(t.team -> 'users') as m (member)
                            inner join anonymized as a on (m.member ->> 'id')::bigint = a.id
                        )
                    then t.team || jsonb_build_object(
                        {", ".join(f"'{field}', null" for field in TEXT_OF_A_TEAM)},
                        'users', ({_MEMBERS})
                    )
                    else t.team
                end
                order by t.ord
            )
            from jsonb_array_elements(p.teams) with ordinality as t (team, ord)
        ) as teams
    from raw.projects_users as p
    where p.id in (select candidates.id from candidates)
"""
TEAMS = """
    update raw.projects_users as p set teams = scrubbed_teams.teams
    from scrubbed_teams
    where p.id = scrubbed_teams.id and p.teams is distinct from scrubbed_teams.teams
    returning p._dlt_load_id
"""


def _nested_user_scrub(table: str) -> str:
    nulls = ", ".join(f"'{field}', null" for field in PERSONAL_USER_FIELDS)
    return f"""
        update raw.{table} as t
        set "user" = t."user" || jsonb_build_object('login', anonymized.pseudonym, {nulls})
        from anonymized
        where ("user" ->> 'id')::bigint = anonymized.id
          and ("user" ->> 'login' is distinct from anonymized.pseudonym
               or "user" ->> 'email' is not null)
        returning t._dlt_load_id
    """


USERS = (
    "update raw.users as u set login = anonymized.pseudonym, "
    + ", ".join(f"{field} = null" for field in PERSONAL_USER_FIELDS)
    + " from anonymized where u.id = anonymized.id"
    " and (u.login is distinct from anonymized.pseudonym or u.email is not null"
    " or u.first_name is not null or u.image is not null)"
    " returning u._dlt_load_id"
)
ACHIEVEMENTS_USERS = (
    "update raw.achievements_users as a set login = anonymized.pseudonym, url = null"
    " from anonymized where a.user_id = anonymized.id"
    " and (a.login is distinct from anonymized.pseudonym or a.url is not null)"
    " returning a._dlt_load_id"
)
LOCATIONS = (
    "update raw.locations as l set host = null"
    " from anonymized where l.user_id = anonymized.id and l.host is not null"
    " returning l._dlt_load_id"
)
# The sessions of people raw.users does not hold (pisciners, students of other cursus: every
# student's sessions are loaded, and who joins the cursus is known only later) are kept for
# the days a first run reads, so that a pisciner admitted to the cursus has their recent
# logtime; older ones serve nobody, and the ELT could not see those people anonymized.
STRANGERS_SESSIONS = (
    "delete from raw.locations as l"
    " where l.begin_at < %(kept_since)s and l._intra_deleted is not true"
    " and not exists (select from raw.users as u where u.id = l.user_id)"
)
LIVE_TABLES = ("users", "cursus_users", "projects_users", "achievements_users", "locations")
# What the erasure reports for the strangers' sessions it deletes: no mart holds them (the
# marts' sessions are those of the mirrored students), so deleting them changes no mart.
STRANGERS = "sessions of people not mirrored"


def changes_marts(erased: dict[str, int]) -> bool:
    """Whether what ``erase_anonymized`` changed reaches a mart (a build must follow, and the
    build schema, built before it, may hold what was erased)."""
    return any(count for table, count in erased.items() if table != STRANGERS)


@dataclass
class Erasure:
    """What ``erase_anonymized`` changed in raw: rows per table, and the oldest load among the
    rows it rewrote (the strangers' sessions it deleted aside: no mart holds them)."""

    changed: dict[str, int] = field(default_factory=dict)
    oldest_load: str | None = None

    def rewrote_only_loads_after(self, load_id: str | None) -> bool:
        """Whether every row it rewrote came with a load newer than ``load_id``. A build of
        what those loads changed (a watch tick's selective build from ``load_id``) reads
        them as erased: the rows of users anonymized long ago, loaded again this tick, need
        no build of everything (they made most ticks at the network's peak two of them)."""
        return load_id is not None and self.oldest_load is not None and self.oldest_load > load_id


def erase_anonymized(database: Database, as_of: datetime, sessions_kept_since: datetime) -> Erasure:
    """Apply the erasure in one transaction; return the rows changed per table.

    ``as_of`` is the API server's time: ``anonymize_date`` is the intra's own deadline.
    ``sessions_kept_since``: the sessions of people raw.users does not hold begun before it
    are deleted. Tables not loaded yet (a first backfill cut short) are simply skipped."""
    erasure = Erasure()
    changed = erasure.changed
    loads: set[str] = set()  # the loads of the rows rewritten (each statement returns them)

    def rewrite(cursor, table: str, statement: str) -> None:
        cursor.execute(statement)
        rewritten = [row[0] for row in cursor.fetchall()]
        if rewritten:
            changed[table] = len(rewritten)
            loads.update(rewritten)

    with database.connect() as connection, connection.cursor() as cursor:
        loaded = existing_tables(cursor, "raw", LIVE_TABLES)
        if "users" not in loaded:
            return erasure  # who is anonymized is known from raw.users only
        cursor.execute(ANONYMIZED_IDS, {"as_of": as_of})
        for table, statement in (
            ("users", USERS),
            ("cursus_users", _nested_user_scrub("cursus_users")),
            ("projects_users", _nested_user_scrub("projects_users")),
            ("achievements_users", ACHIEVEMENTS_USERS),
            ("locations", LOCATIONS),
        ):
            if table in loaded:
                rewrite(cursor, table, statement)
        if "locations" in loaded:
            cursor.execute(STRANGERS_SESSIONS, {"kept_since": sessions_kept_since})
            if cursor.rowcount:
                changed[STRANGERS] = cursor.rowcount
        if "projects_users" in loaded:
            cursor.execute(SCRUBBED_TEAMS)
            rewrite(cursor, "teams", TEAMS)
        connection.commit()
    erasure.oldest_load = min(loads, default=None)
    return erasure


# The personal columns of the users mart (the staging model nulls them for anonymized users).
MART_PERSONAL_COLUMNS = (
    "first_name",
    "last_name",
    "usual_full_name",
    "usual_first_name",
    "displayname",
    "email",
    "image_url",
    "location",
)


# What each mart of the previous build holds of a person: how a row of theirs is erased once
# they are anonymized, and how a row still to erase looks (the staging models erase the same
# in every new build).
PREVIOUS_MARTS_ERASURE = {
    "users": (
        "login = '3b3-' || previous.user_id, is_anonymized = true, "
        + ", ".join(f"{column} = null" for column in MART_PERSONAL_COLUMNS),
        "not previous.is_anonymized",
    ),
    "student_progress": ("login = '3b3-' || previous.user_id", "previous.login not like '3b3-%'"),
    "locations": ("host = null", "previous.host is not null"),
    "campus_presence": ("host = null", "previous.host is not null"),
}


def erase_anonymized_in_previous_marts(database: Database) -> int:
    """After a publish, ``marts__build`` holds the previous marts, which the next build starts
    from: the users anonymized since lose their personal values there too (as the staging
    models erase them), so no copy of them outlives the run. Returns the rows changed."""
    changed = 0
    with database.connect() as connection, connection.cursor() as cursor:
        if not existing_tables(cursor, "raw", ("users",)):
            return 0
        marts = existing_tables(cursor, BUILD, PREVIOUS_MARTS_ERASURE)
        for mart, (erasure, still_personal) in PREVIOUS_MARTS_ERASURE.items():
            if mart in marts:
                cursor.execute(
                    f"update {BUILD}.{mart} as previous set {erasure} from raw.users"
                    " where raw.users.id = previous.user_id and raw.users.login like '3b3-%'"
                    f" and {still_personal}"
                )
                changed += cursor.rowcount
        connection.commit()
    return changed
