"""What a build found wrong in the data without refusing it, named for the run's output.

A dbt warning says how many rows it found; some must be named to be fixed. Those tests store
their rows (``store_failures``) in schema ``elt``, and the run prints each one after the build.
"""

from __future__ import annotations

from pipelines.database import Database, existing_tables

# The stored rows of warn_campuses_with_an_unknown_time_zone (dbt_project/tests).
UNKNOWN_TIME_ZONES = "campuses_with_an_unknown_time_zone"


def unknown_time_zones(database: Database) -> list[str]:
    """One line per kept campus whose time zone PostgreSQL does not know."""
    with database.connect() as connection, connection.cursor() as cursor:
        if not existing_tables(cursor, "elt", (UNKNOWN_TIME_ZONES,)):
            return []
        cursor.execute(
            f"select campus_id, name, time_zone from elt.{UNKNOWN_TIME_ZONES} order by 1"
        )
        rows = cursor.fetchall()
    return [
        f"campus {campus_id} ({str(name).strip()}): time zone {time_zone!r} is unknown to "
        "PostgreSQL, so its sessions are left out of logtime; fix the campus's time_zone in "
        "the intra or PostgreSQL's time zone database"
        for campus_id, name, time_zone in rows
    ]
