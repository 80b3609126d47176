"""Publishing the marts only once they passed their tests (blue/green by schema swap).

dbt builds every mart into ``marts__build`` and runs the tests there; consumers read
``marts``. When the whole build passed, one transaction swaps the two schemas by renaming
them, so a reader sees either the previous tested state or the new tested one, never a mix.

After the swap ``marts__build`` holds the previous version, one run behind. The incremental
models can build on it as they are: they read every load newer than the last one *they*
processed, so they catch up on two runs' worth of changes instead of one, and end equal.
That holds for deletions too, because every deletion is a load: a row the API deleted is a
tombstone in raw (``pipelines/intra/incremental.py``), a student who left is a row of
``int_users__scope``, both with the load that found them. So the build after a full run,
which starts from the copy before it, deletes what the full run deleted.

A watch tick may leave some marts out of its build (``selection.SUMMARIES``, when not due):
those are ``kept``. The swap's transaction first exchanges each kept table between the two
schemas, so the published one stays published as it is and the build schema keeps the older
one, as it would have after the swap: renames only, no copy.

When a build fails, ``marts__build`` may hold rows that failed a test; it is dropped, and the
next run rebuilds it in full from raw (slower once, then incremental again).
"""

from __future__ import annotations

from pipelines.database import Database

PUBLISHED = "marts"
BUILD = "marts__build"
SWAP = "marts__previous"


def publish(database: Database, kept: tuple[str, ...] = ()) -> None:
    """Swap the tested build into place, atomically; the ``kept`` tables stay as published."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("set local lock_timeout = '60s'")
        cursor.execute(
            "select nspname from pg_namespace where nspname = any(%s)", ([PUBLISHED, BUILD, SWAP],)
        )
        present = {row[0] for row in cursor.fetchall()}
        if BUILD not in present:
            raise RuntimeError(f"nothing to publish: schema {BUILD} does not exist")
        if SWAP in present:  # left over by an interrupted swap: never committed, but be safe
            cursor.execute(f"drop schema {SWAP} cascade")
        for table in existing_in_both(cursor, kept):
            cursor.execute(f"alter table {PUBLISHED}.{table} rename to {table}__kept")
            cursor.execute(f"alter table {BUILD}.{table} set schema {PUBLISHED}")
            cursor.execute(f"alter table {PUBLISHED}.{table}__kept set schema {BUILD}")
            cursor.execute(f"alter table {BUILD}.{table}__kept rename to {table}")
        if PUBLISHED in present:
            cursor.execute(f"alter schema {PUBLISHED} rename to {SWAP}")
        cursor.execute(f"alter schema {BUILD} rename to {PUBLISHED}")
        if PUBLISHED in present:
            cursor.execute(f"alter schema {SWAP} rename to {BUILD}")
        connection.commit()


def existing_in_both(cursor, tables: tuple[str, ...]) -> list[str]:
    """Of ``tables``, those both the published and the build schema hold (a kept table the
    build schema lacks is simply published from the build, like any other)."""
    if not tables:
        return []
    cursor.execute(
        "select table_name from information_schema.tables where table_schema = %s"
        " and table_name = any(%s) intersect select table_name"
        " from information_schema.tables where table_schema = %s",
        (PUBLISHED, list(tables), BUILD),
    )
    return sorted(row[0] for row in cursor.fetchall())


def discard_build(database: Database) -> None:
    """Drop a build that failed its tests; the next run rebuilds it from raw."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"drop schema if exists {BUILD} cascade")
        connection.commit()
