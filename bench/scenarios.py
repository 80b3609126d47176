"""The six bench scenarios. Each returns a JSON-able dict; ``bench.__main__`` orders them.

Every timing is repeated and the median reported; comparisons (incremental dbt against a full
refresh, our load against COPY) are ratios of runs made in the same repetition.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from bench.harness import Bench, EltRun, median
from intra_simulator.control import SimulatorProcess
from pipelines.database import Database
from pipelines.dbt_runner import run_dbt
from pipelines.intra.settings import DEFAULT_CURSUS_ID, REFERENCE_ENDPOINTS
from pipelines.run.stages import STAGES

LIFTED = {"per_second": 1_000_000, "per_hour": 1_000_000_000}
PIPELINE_STAGES = STAGES[:3]  # extract, normalize, load: without dbt


def summary(run: EltRun) -> dict:
    """One ELT run in the bench's terms."""
    resources = run.resources
    records = sum(r.get("read") or 0 for r in resources.values())
    calls = run.ledger.get("api_calls") or 0
    stages = run.stages
    cpu = sum(float(stages.get(s, {}).get("cpu", 0.0)) for s in PIPELINE_STAGES)
    return {
        "exit_code": run.code,
        "calls": calls,
        # + the token call and the preflight check (GET /v2/cursus/<id>) every run makes
        "minimum_calls": sum(r.get("minimum_calls") or 0 for r in resources.values()) + 2,
        "429": run.ledger.get("api_429") or 0,
        "records": records,
        "wall_seconds": round(run.wall, 2),
        "seconds": run.ledger.get("seconds") or {},
        "stages": stages,
        "cpu_ms_per_page": round(1000 * cpu / max(calls, 1), 2),
        "cpu_ms_per_1000_records": round(1000 * cpu / max(records / 1000, 1e-9), 2),
        # the ELT process itself with its normalize workers, and its largest child (dbt)
        "peak_rss_mb": round(
            max(float(stages.get(s, {}).get("peak_mb", 0.0)) for s in PIPELINE_STAGES), 1
        ),
        "dbt_peak_rss_mb": round(float(stages.get("dbt", {}).get("peak_mb", 0.0)), 1),
        "rows": {name: r.get("rows") for name, r in resources.items()},
        # per resource: records read, calls made, the minimum for what was read
        "calls_by_resource": {
            name: [r.get("read"), r.get("calls"), r.get("minimum_calls")]
            for name, r in resources.items()
        },
    }


def medians(runs: list[dict]) -> dict:
    """The median of every number across repetitions (nested one level for stages)."""
    first = runs[0]
    result: dict = {}
    for key, value in first.items():
        if isinstance(value, bool) or key == "exit_code":
            result[key] = max(r[key] for r in runs) if key == "exit_code" else value
        elif isinstance(value, (int, float)):
            result[key] = round(median([r[key] for r in runs]), 3)
        elif key in ("stages", "seconds"):
            result[key] = _nested_medians([r[key] for r in runs])
        else:
            result[key] = value
    return result


def _nested_medians(values: list[dict]) -> dict:
    out: dict = {}
    for key, value in values[0].items():
        if isinstance(value, dict):
            out[key] = _nested_medians([v.get(key, {}) for v in values])
        else:
            out[key] = round(median([float(v.get(key, 0.0)) for v in values]), 3)
    return out


def check(run: EltRun, what: str) -> None:
    if run.code != 0:
        tail = "\n".join(run.output.splitlines()[-30:])
        raise RuntimeError(f"{what}: the ELT exited with {run.code}\n{tail}")


def backfill(bench: Bench, sim: SimulatorProcess, repeats: int) -> tuple[dict, Database]:
    """Scenario 1: everything from empty, rate limit lifted: our own cost per stage."""
    sim.admin.configure(**LIFTED)
    runs = []
    for i in range(repeats):
        database, workdir = bench.fresh()
        run = bench.run(sim, database, workdir)
        check(run, "backfill")
        runs.append(summary(run))
        bench.say(f"backfill {i + 1}/{repeats}: {runs[-1]['wall_seconds']} s")
    bench.last_workdir = workdir
    return {"runs": runs, "median": medians(runs)}, database


def real_limits(bench: Bench, sim: SimulatorProcess, repeats: int, per_hour: int) -> dict:
    """Scenario 2: the reference data and the users at 2 requests/s: how much of it we use."""
    sim.admin.configure(per_second=2, per_hour=per_hour)
    resources = [*REFERENCE_ENDPOINTS, "users"]
    runs = []
    try:
        for i in range(repeats):
            database, workdir = bench.fresh()
            run = bench.run(sim, database, workdir, "--skip-dbt", "--resources", *resources)
            check(run, "real limits")
            result = summary(run)
            phase = float(result["seconds"].get("extract_load") or 0.0)
            result["utilization"] = round(result["calls"] / (2 * phase), 4) if phase else 0.0
            runs.append(result)
            bench.say(f"real limits {i + 1}/{repeats}: utilization {result['utilization']:.1%}")
    finally:
        sim.admin.configure(**LIFTED)
    return {
        "per_second": 2,
        "per_hour": per_hour,
        "resources": resources,
        "runs": runs,
        "median": medians(runs),
    }


def nothing_changed(bench: Bench, sim: SimulatorProcess, database: Database, repeats: int):
    """Scenario 4: a run right after another: one call per live resource and the snapshots."""
    runs = []
    for i in range(repeats):
        run = bench.run(sim, database, bench.last_workdir)
        check(run, "nothing changed")
        runs.append(summary(run))
        bench.say(f"nothing changed {i + 1}/{repeats}: {runs[-1]['calls']} calls")
    return {"runs": runs, "median": medians(runs)}


def hourly(bench: Bench, sim: SimulatorProcess, database: Database, repeats: int) -> dict:
    """Scenario 3: an hour of activity, then the hourly run; dbt against a full refresh."""
    runs = []
    for i in range(repeats):
        stored = analytics_bytes(database)
        advanced = sim.admin.advance(3600)
        run = bench.run(sim, database, bench.last_workdir)
        check(run, "hourly")
        result = summary(run)
        started = time.monotonic()
        full = run_dbt(
            database,
            "build",
            "--full-refresh",
            "--exclude-resource-type",
            "unit_test",  # as the run's build
            dbt_vars={"cursus_id": DEFAULT_CURSUS_ID},
            dbt_env={"INTRA_AS_OF": advanced["now"]},
            log_dir=bench.last_workdir / "logs",
            target_dir=bench.last_workdir / "dbt-target",
        )
        if not full.ok:
            raise RuntimeError(f"full refresh failed: {full.problems[:5]}")
        result["dbt_full_refresh_seconds"] = round(time.monotonic() - started, 3)
        result["dbt_ratio"] = round(
            float(result["seconds"].get("dbt") or 0.0) / result["dbt_full_refresh_seconds"], 4
        )
        result["changed"] = advanced.get("changed")
        alone, nodes = analytics_part(bench.last_workdir)
        dbt = float(result["seconds"].get("dbt") or 0.0)
        result["analytics_alone_seconds"] = round(alone, 3)
        result["analytics_node_seconds"] = round(nodes, 3)
        result["analytics_share_of_dbt"] = round(alone / dbt, 4) if dbt else 0.0
        result["analytics_bytes"] = analytics_bytes(database)
        result["analytics_growth_bytes"] = result["analytics_bytes"] - stored
        runs.append(result)
        bench.say(f"hourly {i + 1}/{repeats}: dbt at {result['dbt_ratio']:.1%} of a full refresh")
    return {"runs": runs, "median": medians(runs)}


def copy_baseline(bench: Bench, database: Database, repeats: int) -> dict:
    """Scenario 5: the records our load wrote, as JSON lines, in one COPY into a jsonb table."""
    lines = bench.data_dir / "baseline.jsonl"
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw' and table_name not like '\\_dlt%%'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        with open(lines, "w") as out:
            for name in tables:
                cursor.copy_expert(
                    f'copy (select to_jsonb(t) from raw."{name}" as t) to stdout', out
                )
    with open(lines) as source:
        rows = sum(1 for _ in source)
    seconds = []
    for _ in range(repeats):
        with database.connect() as connection, connection.cursor() as cursor:
            cursor.execute("drop schema if exists baseline cascade")
            cursor.execute("create schema baseline")
            cursor.execute("create table baseline.pages (doc jsonb)")
            connection.commit()
            started = time.monotonic()
            with open(lines) as source:
                cursor.copy_expert("copy baseline.pages (doc) from stdin", source)
            connection.commit()
            seconds.append(time.monotonic() - started)
            cursor.execute("drop schema baseline cascade")
            connection.commit()
    return {
        "tables": len(tables),
        "rows": rows,
        "megabytes": round(lines.stat().st_size / 2**20, 1),
        "seconds": [round(s, 3) for s in seconds],
        "median_seconds": round(median(seconds), 3),
    }


def history_part(workdir) -> tuple[float, float]:
    """Seconds of the last dbt build spent on history and events, and the build's node span.

    The history models wait for every test of every mart (their gate), so they and their
    tests are the build's tail: from the first of them starting to the last node ending."""
    results = json.loads((workdir / "dbt-target" / "run_results.json").read_text())["results"]

    def span(result: dict) -> tuple[datetime, datetime]:
        times = [t for t in result.get("timing", []) if t.get("started_at")]
        return (
            min(datetime.fromisoformat(t["started_at"].replace("Z", "+00:00")) for t in times),
            max(datetime.fromisoformat(t["completed_at"].replace("Z", "+00:00")) for t in times),
        )

    spans = {r["unique_id"]: span(r) for r in results if r.get("timing")}
    history = [s for uid, s in spans.items() if "hist_" in uid or uid == "model.intra.events"]
    if not history:
        return 0.0, 0.0
    end = max(e for _, e in spans.values())
    start = min(s for s, _ in spans.values())
    return (end - min(s for s, _ in history)).total_seconds(), (end - start).total_seconds()


# The analytics layer's dbt nodes (models and their tests), by name: the locations mart and
# staging, the logtime models, the analytics marts and what only they read.
ANALYTICS_NODES = (
    "locations",
    "logtime",
    "heatmap",
    "student_progress",
    "project_stats",
    "campus_monthly",
    "cohort_progress",
    "coalition_standings",
    "blackholes",
    "two_campuses",
    "unknown_time_zone",
    "presence",
)


def node_spans(workdir) -> dict[str, tuple[datetime, datetime]]:
    """Each node of the last dbt build: when it started and ended."""
    results = json.loads((workdir / "dbt-target" / "run_results.json").read_text())["results"]
    spans = {}
    for result in results:
        times = [t for t in result.get("timing", []) if t.get("started_at")]
        if times:
            spans[result["unique_id"]] = (
                min(datetime.fromisoformat(t["started_at"].replace("Z", "+00:00")) for t in times),
                max(
                    datetime.fromisoformat(t["completed_at"].replace("Z", "+00:00")) for t in times
                ),
            )
    return spans


def covered(spans) -> list[tuple[datetime, datetime]]:
    """The union of time spans, as disjoint spans."""
    union: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if union and start <= union[-1][1]:
            union[-1] = (union[-1][0], max(union[-1][1], end))
        else:
            union.append((start, end))
    return union


def analytics_part(workdir) -> tuple[float, float]:
    """Seconds of the last dbt build in which only analytics nodes ran (what the build would
    lose without them: the rest runs in the same threads at the same time), and the sum of
    the analytics nodes' own seconds."""
    spans = node_spans(workdir)
    mine = [s for uid, s in spans.items() if any(n in uid for n in ANALYTICS_NODES)]
    others = covered(s for uid, s in spans.items() if not any(n in uid for n in ANALYTICS_NODES))
    alone = 0.0
    for start, end in covered(mine):
        seconds = (end - start).total_seconds()
        for other_start, other_end in others:
            overlap = (min(end, other_end) - max(start, other_start)).total_seconds()
            seconds -= max(0.0, overlap)
        alone += seconds
    return alone, sum((end - start).total_seconds() for start, end in mine)


def analytics_bytes(database: Database) -> int:
    """What the analytics layer stores: the raw sessions and the marts it publishes."""
    tables = ", ".join(
        f"'{name}'"
        for name in (
            "locations",
            "logtime_daily",
            "campus_logtime_heatmap",
            "student_progress",
            "project_stats",
            "campus_monthly",
            "cohort_progress",
            "coalition_standings",
            "coalition_standings_monthly",
        )
    )
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class as c "
            "join pg_namespace as n on n.oid = c.relnamespace "
            f"where n.nspname in ('raw', 'marts') and c.relkind = 'r' and c.relname in ({tables})"
        )
        return int(cursor.fetchone()[0])


def history_bytes(database: Database) -> int:
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_class as c "
            "join pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = 'history' and c.relkind = 'r'"
        )
        return int(cursor.fetchone()[0])


def history(bench: Bench, sim: SimulatorProcess, repeats: int) -> dict:
    """Scenario 6: what history and events add to the hourly run (seconds and share of the
    dbt stage) and how fast they grow, on a database of its own: a backfill (the first
    history build), a quiet run, then hourly runs after an hour of activity each."""
    sim.admin.configure(**LIFTED)
    database, workdir = bench.fresh()
    first = bench.run(sim, database, workdir)
    check(first, "history backfill")
    first_seconds, first_dbt = history_part(workdir)
    bench.say(f"history: first build {first_seconds:.1f} s of its dbt {first_dbt:.1f} s")
    check(bench.run(sim, database, workdir), "history quiet run")
    runs = []
    for i in range(repeats):
        size = history_bytes(database)
        sim.admin.advance(3600)
        run = bench.run(sim, database, workdir)
        check(run, "history hourly")
        seconds, _ = history_part(workdir)
        dbt = float((run.ledger.get("seconds") or {}).get("dbt") or 0.0)
        runs.append(
            {
                "dbt_seconds": round(dbt, 3),
                "history_seconds": round(seconds, 3),
                "share_of_dbt": round(seconds / dbt, 4) if dbt else 0.0,
                # what the same build costs without them: the dbt stage minus their tail
                "added_to_dbt": round(seconds / (dbt - seconds), 4) if dbt > seconds else 0.0,
                "history_growth_bytes": history_bytes(database) - size,
            }
        )
        bench.say(f"history hourly {i + 1}/{repeats}: {seconds:.1f} s of dbt {dbt:.1f} s")
    median_growth = median([r["history_growth_bytes"] for r in runs])
    return {
        "first_build_history_seconds": round(first_seconds, 3),
        "first_build_dbt_seconds": round(first_dbt, 3),
        "history_bytes_after_backfill": history_bytes(database)
        - sum(r["history_growth_bytes"] for r in runs),
        "growth_bytes_per_simulated_day": round(24 * median_growth),
        "runs": runs,
        "median": {
            key: round(median([r[key] for r in runs]), 4)
            for key in ("dbt_seconds", "history_seconds", "share_of_dbt", "added_to_dbt")
        },
    }
