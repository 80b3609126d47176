"""GDPR erasure in the raw tables: anonymized users lose every personal field.

A user is anonymized when the intra says so (login ``3b3-<id>``) or when their
``anonymize_date`` has passed, even if the API has not caught up yet (docs/api-behaviours.md,
anonymization).
Their rows stay (id and progress are not personal), but after every run:

- ``raw.users``: login becomes the API's own pseudonym ``3b3-<id>``; e-mail, names, display
  name, phone, photo, profile URL and seat location become null;
- the copies of the user nested in ``raw.cursus_users`` / ``raw.projects_users`` get the same
  treatment, and ``raw.achievements_users`` loses login and URL;
- every earlier login of theirs is replaced by the pseudonym in project teams (team names,
  member lists, repository paths), where teammates' rows carry it too.

The marts get the same erasure from the staging models. dlt keeps no copy: loaded packages
are deleted and the staging dataset truncated after each load (``.dlt/config.toml``).
This is plain SQL run after the loads, because it rewrites rows no new API data touches.
"""

from __future__ import annotations

from datetime import datetime

from pipelines.database import Database, existing_tables

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
    where login like '3b3-%%' or anonymize_date < %(as_of)s
"""

# Where a user's login may have been copied: (table, id expression, login expression).
# The id expressions match the user-id indexes of raw_indexes (created by the ELT before the
# erasure), so each lookup reads only the rows of anonymized users instead of millions.
LOGIN_COPIES = (
    ("users", "t.id", "t.login"),
    ("cursus_users", """(t."user" ->> 'id')::bigint""", """t."user" ->> 'login'"""),
    ("projects_users", """(t."user" ->> 'id')::bigint""", """t."user" ->> 'login'"""),
    ("achievements_users", "t.user_id", "t.login"),
)


def old_logins(loaded: set[str]) -> list[str]:
    """Statements collecting every login an anonymized user has had, from the loaded tables."""
    statements = [
        "create temporary table old_logins (id bigint, pseudonym text, login text) on commit drop"
    ]
    for table, user_id, login in LOGIN_COPIES:
        if table in loaded:
            statements.append(
                "insert into old_logins"
                f" select distinct anonymized.id, anonymized.pseudonym, {login}"
                f" from anonymized inner join raw.{table} as t on {user_id} = anonymized.id"
                f" where {login} is not null and {login} not like '3b3-%'"
            )
    return statements


# The teams an anonymized user was in: their teammates' rows mention them too.
THEIR_TEAMS = """
    create temporary table their_teams on commit drop as
    select distinct (team ->> 'id')::bigint as team_id
    from raw.projects_users as p
    inner join anonymized on ("user" ->> 'id')::bigint = anonymized.id
    cross join lateral jsonb_array_elements(p.teams) as team
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
    """


USERS = (
    "update raw.users as u set login = anonymized.pseudonym, "
    + ", ".join(f"{field} = null" for field in PERSONAL_USER_FIELDS)
    + " from anonymized where u.id = anonymized.id"
    " and (u.login is distinct from anonymized.pseudonym or u.email is not null"
    " or u.first_name is not null or u.image is not null)"
)
ACHIEVEMENTS_USERS = (
    "update raw.achievements_users as a set login = anonymized.pseudonym, url = null"
    " from anonymized where a.user_id = anonymized.id"
    " and (a.login is distinct from anonymized.pseudonym or a.url is not null)"
)
# every earlier login of the user, wherever one of their teams mentions it (whole words only);
# a row can mention several anonymized users, hence the repetition in erase_anonymized
TEAMS = r"""
    update raw.projects_users as p
    set teams = regexp_replace(p.teams::text, '\m' || old_logins.login || '\M',
                               old_logins.pseudonym, 'g')::jsonb
    from old_logins
    where p.current_team_id in (select team_id from their_teams)
      and p.teams::text ~ ('\m' || old_logins.login || '\M')
"""

LIVE_TABLES = ("users", "cursus_users", "projects_users", "achievements_users")


def erase_anonymized(database: Database, as_of: datetime) -> dict[str, int]:
    """Apply the erasure in one transaction; return the rows changed per table.

    ``as_of`` is the API server's time: ``anonymize_date`` is the intra's own deadline.
    Tables not loaded yet (a first backfill cut short) are simply skipped."""
    changed: dict[str, int] = {}
    with database.connect() as connection, connection.cursor() as cursor:
        loaded = existing_tables(cursor, "raw", LIVE_TABLES)
        if "users" not in loaded:
            return changed  # who is anonymized is known from raw.users only
        cursor.execute(ANONYMIZED_IDS, {"as_of": as_of})
        for statement in old_logins(loaded):
            cursor.execute(statement)
        if "projects_users" in loaded:
            cursor.execute(THEIR_TEAMS)
        for table, statement in (
            ("users", USERS),
            ("cursus_users", _nested_user_scrub("cursus_users")),
            ("projects_users", _nested_user_scrub("projects_users")),
            ("achievements_users", ACHIEVEMENTS_USERS),
        ):
            if table not in loaded:
                continue
            cursor.execute(statement)
            if cursor.rowcount:
                changed[table] = cursor.rowcount
        for _ in range(10 if "projects_users" in loaded else 0):
            cursor.execute(TEAMS)
            if not cursor.rowcount:
                break
            changed["teams"] = changed.get("teams", 0) + cursor.rowcount
        connection.commit()
    return changed
