"""``make status``: the last runs, how fresh every mart is, and what failed and why.

Reads the run ledger (``elt.runs``), the published marts and dlt's load ledger, then runs
``dbt source freshness`` (thresholds in dbt_project/models/staging/intra/_intra__sources.yml,
set for the hourly cron). Exits 1 when the last run failed or a source is stale beyond its
error threshold, so it can serve as a check in monitoring.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg2

from pipelines.database import DatabaseError, resolve_database
from pipelines.dbt_runner import run_dbt
from pipelines.elt import MARTS, MARTS_SCHEMA
from pipelines.report import table
from pipelines.run_lock import lock_holder

LAST_RUNS = 10


def mart_freshness(cursor, name: str) -> tuple[int | None, str | None]:
    """Rows of a published mart and its newest ``updated_at`` (when it has one)."""
    cursor.execute(
        "select column_name from information_schema.columns "
        "where table_schema = %s and table_name = %s and column_name = 'updated_at'",
        (MARTS_SCHEMA, name),
    )
    has_updated_at = cursor.fetchone() is not None
    cursor.execute("select to_regclass(%s)", (f"{MARTS_SCHEMA}.{name}",))
    if cursor.fetchone()[0] is None:
        return None, None
    newest = "max(updated_at)" if has_updated_at else "null"
    cursor.execute(f"select count(*), {newest} from {MARTS_SCHEMA}.{name}")
    count, value = cursor.fetchone()
    return count, f"{value:%Y-%m-%d %H:%M:%S}" if value else None


def main() -> int:
    data_dir = Path(os.environ.get("INTRA_ELT_DATA_DIR", ".data"))
    try:
        database = resolve_database(data_dir)
        connection = database.connect()
    except DatabaseError as error:
        print(f"ERROR database: {error}")
        return 2
    holder = lock_holder(data_dir / "elt.lock")
    with connection, connection.cursor() as cursor:
        try:
            cursor.execute(
                "select run_id, started_at, finished_at, mode, status, pid, api_calls, api_429, "
                "published, message from elt.runs order by run_id desc limit %s",
                (LAST_RUNS,),
            )
            runs = cursor.fetchall()
        except psycopg2.errors.UndefinedTable:
            print("no run recorded yet (elt.runs does not exist): run make elt first")
            return 1
        connection.rollback()
        rows = []
        for (
            run_id,
            started,
            finished,
            mode,
            status,
            pid,
            calls,
            too_many,
            published,
            message,
        ) in runs:
            if status == "running" and (holder is None or holder.get("pid") != pid):
                status = "interrupted"
            seconds = f"{(finished - started).total_seconds():.0f}" if finished else ""
            rows.append(
                [run_id, f"{started:%Y-%m-%d %H:%M:%S}", mode, status, seconds, calls, too_many,
                 "yes" if published else "", (message or "")[:90]]
            )  # fmt: skip
        print("last runs (newest first)")
        print(
            "\n".join(
                table(
                    [
                        "run",
                        "started (UTC)",
                        "mode",
                        "status",
                        "s",
                        "calls",
                        "429",
                        "published",
                        "message",
                    ],
                    rows,
                )
            )
        )

        cursor.execute(
            "select max(finished_at) from elt.runs where published",
        )
        last_published = cursor.fetchone()[0]
        print(
            f"\nmarts last published: {last_published:%Y-%m-%d %H:%M:%S} UTC"
            if last_published
            else "\nmarts never published"
        )
        freshness = []
        for name in MARTS:
            count, newest = mart_freshness(cursor, name)
            freshness.append([name, "-" if count is None else count, newest or ""])
        print("\n".join(table(["mart", "rows", "newest updated_at"], freshness)))

        failures = [r for r in runs if r[4] in ("failed", "config", "quota")]
        if failures:
            run_id, started, *_, message = failures[0]
            print(f"\nlast problem: run {run_id} ({started:%Y-%m-%d %H:%M:%S}): {message}")
    latest_failed = bool(runs) and runs[0][4] in ("failed", "config")

    result = run_dbt(database, "source", "freshness", log_dir=data_dir / "logs")
    print(f"\n{result.headline()}")
    for problem in result.problems:
        print(f"  {problem}")
    return 1 if latest_failed or not result.ok else 0


if __name__ == "__main__":
    sys.exit(main())
