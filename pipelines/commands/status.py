"""``intra-elt status``: the last runs, how fresh the data is, and what failed and why.

Reads the run ledger (``elt.runs``), the published marts and dlt's load ledger, then runs
``dbt source freshness`` (thresholds in dbt_project/models/staging/intra/_intra__sources.yml,
set for the hourly cron). Exits 1 when the last run failed or a source is stale beyond its
error threshold, so it can serve as a check in monitoring; 1 also when no run is recorded,
and 2 when the database cannot be reached.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path

import psycopg2

from pipelines.commands import dbt_by_hand
from pipelines.config import MARTS, MARTS_SCHEMA, RAW_SCHEMA
from pipelines.database import DatabaseError, existing_database
from pipelines.dbt_runner import run_dbt
from pipelines.intra.settings import LIVE_ENDPOINTS, REFERENCE_ENDPOINTS
from pipelines.run.ledger import shown_status
from pipelines.run.run_lock import lock_holder
from pipelines.text_table import table

LAST_RUNS = 10
RAW_TABLES = (*REFERENCE_ENDPOINTS, *LIVE_ENDPOINTS)


def age(seconds: float) -> str:
    """A duration as people read it: ``35 min``, ``7 h 05 min``, ``3 d 4 h``."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // 1440} d {minutes % 1440 // 60} h"


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


def newest_loads(cursor) -> list[list]:
    """Per raw table, when its newest load with rows completed, and how long ago. The marts
    are published even when every resource failed; this is how old the data in them is."""
    rows = []
    cursor.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}._dlt_loads",))
    has_loads = cursor.fetchone()[0] is not None
    for name in RAW_TABLES:
        cursor.execute("select to_regclass(%s)", (f"{RAW_SCHEMA}.{name}",))
        if not has_loads or cursor.fetchone()[0] is None:
            rows.append([name, "never loaded", ""])
            continue
        cursor.execute(
            f"select inserted_at, extract(epoch from now() - inserted_at) "
            f"from {RAW_SCHEMA}._dlt_loads where status = 0 "
            f"and load_id = (select max(_dlt_load_id) from {RAW_SCHEMA}.{name})"
        )
        loaded = cursor.fetchone()
        if loaded is None:
            rows.append([name, "no completed load", ""])
        else:
            rows.append([name, f"{loaded[0]:%Y-%m-%d %H:%M:%S}", age(float(loaded[1]))])
    return rows


def show_runs(cursor, data_dir: Path) -> list[tuple] | None:
    """Print the last runs, the publish time, the data's and the marts' freshness and the
    last problem; the runs, newest first, or None when no run is recorded."""
    try:
        cursor.execute(
            "select run_id, started_at, finished_at, mode, status, pid, api_calls, api_429, "
            "published, message from elt.runs order by run_id desc limit %s",
            (LAST_RUNS,),
        )
    except psycopg2.errors.UndefinedTable:
        return None
    runs = cursor.fetchall()
    holder = lock_holder(data_dir / "elt.lock")
    rows = []
    for run_id, started, finished, mode, status, pid, calls, too_many, published, message in runs:
        status = shown_status(status, pid, holder)
        seconds = f"{(finished - started).total_seconds():.0f}" if finished else ""
        rows.append(
            [run_id, f"{started:%Y-%m-%d %H:%M:%S}", mode, status, seconds, calls, too_many,
             "yes" if published else "", (message or "")[:90]]
        )  # fmt: skip
    print("last runs (newest first)")
    headers = ["run", "started (UTC)", "mode", "status", "s", "calls", "429", "published"]
    print("\n".join(table([*headers, "message"], rows)))

    cursor.execute("select max(finished_at) from elt.runs where published")
    last_published = cursor.fetchone()[0]
    print(
        f"\nmarts last published: {last_published:%Y-%m-%d %H:%M:%S} UTC"
        if last_published
        else "\nmarts never published"
    )
    print("\ndata loaded (the newest completed load of each raw table)")
    print("\n".join(table(["raw table", "loaded (UTC)", "age"], newest_loads(cursor))))
    freshness = []
    for name in MARTS:
        count, newest = mart_freshness(cursor, name)
        freshness.append([name, "-" if count is None else count, newest or ""])
    print(f"\npublished marts (schema {MARTS_SCHEMA})")
    print("\n".join(table(["mart", "rows", "newest updated_at"], freshness)))

    failures = [r for r in runs if r[4] in ("failed", "config", "quota")]
    if failures:
        run_id, started, *_, message = failures[0]
        print(f"\nlast problem: run {run_id} ({started:%Y-%m-%d %H:%M:%S}): {message}")
    return runs


def stale_source(result: dict) -> str:
    """One line for a source that ``dbt source freshness`` did not pass."""
    name = result["unique_id"].split(".", 2)[-1]  # source.<project>.<source>.<table>
    if result["status"] == "runtime error":
        return f"ERROR {name}: {result.get('error') or 'runtime error'}"
    loaded = datetime.fromisoformat(result["max_loaded_at"])
    threshold = result["criteria"][f"{result['status']}_after"]
    return (
        f"{result['status'].upper()} {name}: last loaded {loaded:%Y-%m-%d %H:%M:%S} UTC, "
        f"{age(result['max_loaded_at_time_ago_in_s'])} ago "
        f"({result['status']} after {threshold['count']} {threshold['period']}s)"
    )


def source_freshness(database, data_dir: Path) -> bool:
    """Run ``dbt source freshness`` and print the sources that are stale; True when one is
    beyond its error threshold or the check itself failed."""
    target = data_dir / dbt_by_hand.TARGET
    # dbt writes freshness results to sources.json, not run_results.json; remove the last
    # one so that a check that failed early is never read as this one's.
    sources_file = target / "sources.json"
    sources_file.unlink(missing_ok=True)
    result = run_dbt(
        database,
        "source",
        "freshness",
        dbt_vars=dbt_by_hand.vars_for("source"),
        log_dir=data_dir / "logs",
        target_dir=target,
    )
    if sources_file.exists():
        results = json.loads(sources_file.read_text())["results"]
        result.statuses = Counter(r["status"].replace("runtime ", "") for r in results)
        result.problems = [stale_source(r) for r in results if r["status"] != "pass"]
        # dbt leaves out of sources.json the sources it could not measure (a raw table that
        # does not exist): the sources of the manifest that have no result.
        measured = {r["unique_id"] for r in results}
        sources = json.loads((target / "manifest.json").read_text())["sources"]
        for unique_id in sorted(sources.keys() - measured):
            result.statuses["error"] += 1
            name = unique_id.split(".", 2)[-1]
            result.problems.append(f"ERROR {name}: dbt failed on it (log: {result.log_path})")
        result.problems.sort(key=lambda p: not p.startswith("ERROR"))
    print(f"\n{result.headline()}")
    for problem in result.problems:
        print(f"  {problem}")
    return not result.ok or result.statuses["error"] > 0


def main(data_dir: Path | None = None) -> int:
    data_dir = data_dir or Path(os.environ.get("INTRA_ELT_DATA_DIR", ".data"))
    nothing = (
        f"no run recorded yet in {data_dir} (run `intra-elt run`, or pass --data-dir "
        ".data/demo after the demo)"
    )
    try:
        database = existing_database(data_dir)
        if database is None:
            print(nothing)
            return 1
        connection = database.connect()
    except DatabaseError as error:
        print(f"ERROR database: {error}")
        return 2
    with connection, connection.cursor() as cursor:
        runs = show_runs(cursor, data_dir)
    connection.close()
    if runs is None:
        print(nothing)
        return 1
    latest_failed = bool(runs) and runs[0][4] in ("failed", "config")
    stale = source_freshness(database, data_dir)
    return 1 if latest_failed or stale else 0
