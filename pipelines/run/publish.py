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

When a build fails, ``marts__build`` may hold rows that failed a test; it is dropped, and the
next run rebuilds it in full from raw (slower once, then incremental again).
"""

from __future__ import annotations

from pipelines.database import Database

PUBLISHED = "marts"
BUILD = "marts__build"
SWAP = "marts__previous"


def publish(database: Database) -> None:
    """Swap the tested build into place, atomically."""
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
        if PUBLISHED in present:
            cursor.execute(f"alter schema {PUBLISHED} rename to {SWAP}")
        cursor.execute(f"alter schema {BUILD} rename to {PUBLISHED}")
        if PUBLISHED in present:
            cursor.execute(f"alter schema {SWAP} rename to {BUILD}")
        connection.commit()


def discard_build(database: Database) -> None:
    """Drop a build that failed its tests; the next run rebuilds it from raw."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(f"drop schema if exists {BUILD} cascade")
        connection.commit()
