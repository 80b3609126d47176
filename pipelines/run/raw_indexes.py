"""The indexes on dlt's raw tables that the dbt models and the privacy erasure rely on.

dlt creates the tables of schema ``raw`` (it owns them) but no index beyond its own keys, so
the pipeline adds these after the loads, before the erasure and ``dbt build``:

- the load id of every live table: an hourly dbt build reads only the rows of new loads;
- the user id of every live table: dbt rereads every row of the few users whose scope
  changed, and the erasure finds the rows of anonymized users;
- the member ids of a project registration's teams (GIN): the erasure finds every team that
  names an anonymized user, in their rows and in their teammates'.

Creating an index that exists is a no-op; a table not loaded yet is skipped (a first
backfill cut short).
"""

from __future__ import annotations

from pipelines.database import Database, existing_tables
from pipelines.run.privacy import TEAM_MEMBER_IDS

NESTED_USER_ID = """(("user" ->> 'id')::bigint)"""

# live table -> how its rows name their user
USER_ID = {
    "users": "id",
    "cursus_users": NESTED_USER_ID,
    "campus_users": "user_id",
    "projects_users": NESTED_USER_ID,
    "achievements_users": "user_id",
    "coalitions_users": "user_id",
    "locations": "user_id",
}

# (table, index name, "using <method> (<columns or expression>)")
INDEXES = (
    *((table, f"{table}_dlt_load_id", "(_dlt_load_id)") for table in USER_ID),
    *((table, f"{table}_user_id", f"({user_id})") for table, user_id in USER_ID.items()),
    (
        "projects_users",
        "projects_users_team_member_ids",
        f"using gin (({TEAM_MEMBER_IDS.format(teams='teams')}))",
    ),
)


def create_raw_indexes(database: Database) -> None:
    """Create, in one transaction, the indexes of the raw tables that exist; then analyze the
    tables that got one. PostgreSQL keeps statistics of an expression only once the table
    is analyzed with its index, and autovacuum analyzes again only after a tenth of the rows
    changed: without them the erasure's join on the nested user id was planned as matching
    every registration and scanned all of them every tick (4 s at network scale, not 0.06)."""
    with database.connect() as connection, connection.cursor() as cursor:
        loaded = existing_tables(cursor, "raw", USER_ID)
        cursor.execute("select indexname from pg_indexes where schemaname = 'raw'")
        present = {row[0] for row in cursor.fetchall()}
        indexed_now = set()
        for table, name, indexed in INDEXES:
            if table in loaded and name not in present:
                cursor.execute(f"create index if not exists {name} on raw.{table} {indexed}")
                indexed_now.add(table)
        connection.commit()
        for table in sorted(indexed_now):
            cursor.execute(f"analyze raw.{table}")
        connection.commit()
