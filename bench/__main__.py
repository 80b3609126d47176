"""``make bench``: run the scenarios, print a table and the targets, write bench/results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import freshness, scenarios
from bench.harness import REPO, Bench
from intra_simulator.control import SimulatorProcess
from pipelines.run.stages import STAGES
from pipelines.text_table import table

RESULTS = REPO / "bench" / "results.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", default="network", help="simulator scale (default: network)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median kept)")
    parser.add_argument(
        "--per-hour",
        type=int,
        default=7200,
        help="hourly limit in scenario 2, scaled so that it never binds in a few minutes' run",
    )
    parser.add_argument(
        "--only",
        choices=["real_limits", "backfill", "history", "freshness"],
        help="run only scenario 2 (real_limits), or scenario 1 and the three built on its "
        "database (backfill), or scenario 6 (history: what history and events add to the "
        "hourly run), or scenario 7 (freshness: the watch runner through an hour of peak and "
        "one of night in real time); the other results are kept from the existing output file",
    )
    parser.add_argument(
        "--peak-minutes", type=float, default=60.0, help="scenario 7's peak, real minutes (60)"
    )
    parser.add_argument(
        "--night-minutes", type=float, default=60.0, help="scenario 7's night, real minutes (60)"
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / ".data" / "bench")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def targets(results: dict) -> list[dict]:
    """Each target of the performance issue, with the measured value and pass/fail."""
    backfill = results["backfill"]["median"]
    quiet = results["nothing_changed"]["median"]
    hourly = results["hourly"]["median"]
    limited = results["real_limits"]["median"]
    baseline = results["copy_baseline"]
    every_run = [
        (name, run)
        for name in ("backfill", "real_limits", "nothing_changed", "hourly")
        for run in results[name]["runs"]
    ]
    over = [
        f"{name}: {r['calls']} > {r['minimum_calls']}"
        for name, r in every_run
        if r["calls"] > r["minimum_calls"]
    ]
    load = float(backfill["stages"]["load"]["wall"])
    growth = backfill["peak_rss_mb"] - quiet["peak_rss_mb"]
    return [
        {
            "target": "calls <= minimum + token + preflight check, every run of every scenario",
            "measured": "; ".join(over) or f"all {len(every_run)} runs at the minimum",
            "pass": not over,
        },
        {
            "target": "our CPU per page (extract+normalize+load) well under 500 ms",
            "measured": f"{backfill['cpu_ms_per_page']:.1f} ms per page",
            "pass": backfill["cpu_ms_per_page"] < 100,
        },
        {
            # 95% when the sync was first measured; 98% since the freshness issue
            "target": "utilization of the allowed request rate >= 98%, no 429",
            "measured": f"{limited['utilization']:.1%}, {limited['429']} x 429",
            "pass": limited["utilization"] >= 0.98 and limited["429"] == 0,
        },
        {
            "target": "hourly dbt < 10% of a full refresh",
            "measured": (
                f"{hourly['seconds']['dbt']:.1f} s vs {hourly['dbt_full_refresh_seconds']:.1f} s "
                f"({hourly['dbt_ratio']:.1%}); with nothing changed dbt takes "
                f"{quiet['seconds']['dbt']:.1f} s: its fixed cost"
            ),
            "pass": hourly["dbt_ratio"] < 0.10,
        },
        *history_targets(results.get("history"), hourly),
        *(freshness.targets(results["freshness"]) if "freshness" in results else []),
        *analytics_targets(backfill, hourly),
        {
            "target": "load stage within 3x of one COPY into jsonb",
            "measured": f"{load:.1f} s vs {baseline['median_seconds']:.1f} s "
            f"({load / baseline['median_seconds']:.2f}x)",
            "pass": load <= 3 * baseline["median_seconds"],
        },
        {
            "target": "memory bounded by a batch, not a table (ELT peak: backfill - quiet run)",
            "measured": f"{backfill['peak_rss_mb']:.0f} MB vs {quiet['peak_rss_mb']:.0f} MB "
            f"(+{growth:.0f} MB for {backfill['records']:,} records, "
            f"{baseline['megabytes']:,} MB as JSON)",
            "pass": growth < 256,
        },
    ]


def history_targets(history: dict | None, hourly: dict) -> list[dict]:
    """Scenario 6's target, once it has been measured."""
    if not history:
        return []
    m = history["median"]
    return [
        {
            "target": "history and events add < 25% to the hourly dbt stage",
            "measured": (
                f"{m['history_seconds']:.1f} s of a {m['dbt_seconds']:.1f} s dbt stage "
                f"(+{m['added_to_dbt']:.1%} over the build without them); first build "
                f"{history['first_build_history_seconds']:.1f} s; history grows "
                f"{history['growth_bytes_per_simulated_day'] / 1e6:.1f} MB per simulated day "
                f"({history['history_bytes_after_backfill'] / 1e6:.0f} MB after the backfill)"
            ),
            "pass": m["added_to_dbt"] < 0.25,
        }
    ]


def analytics_targets(backfill: dict, hourly: dict) -> list[dict]:
    """The analytics layer's target, and its calls and storage beside it."""
    if "analytics_share_of_dbt" not in hourly:
        return []
    calls = {name: by[1] for name, by in backfill["calls_by_resource"].items()}
    hourly_calls = {name: by[1] for name, by in hourly["calls_by_resource"].items()}
    return [
        {
            "target": "the analytics layer adds < 30% to the hourly dbt stage",
            "measured": (
                f"{hourly['analytics_alone_seconds']:.1f} s of a "
                f"{hourly['seconds']['dbt']:.1f} s dbt stage ran analytics alone "
                f"({hourly['analytics_share_of_dbt']:.1%}; its nodes' own seconds: "
                f"{hourly['analytics_node_seconds']:.1f}); locations: "
                f"{calls.get('locations')} calls in the backfill, "
                f"{hourly_calls.get('locations')} in an hourly run; the sessions and the "
                f"analytics take {hourly['analytics_bytes'] / 1e6:.0f} MB and grow "
                f"{24 * hourly['analytics_growth_bytes'] / 1e6:.0f} MB per simulated day"
            ),
            "pass": hourly["analytics_share_of_dbt"] < 0.30,
        }
    ]


def scenario_rows(results: dict) -> list[list]:
    rows = []
    for name in ("backfill", "real_limits", "hourly", "nothing_changed"):
        m = results[name]["median"]
        stages = m["stages"]
        rows.append(
            [
                name,
                m["records"],
                m["calls"],
                m["minimum_calls"],
                m["429"],
                f"{m['wall_seconds']:.1f}",
                *(f"{float(stages.get(s, {}).get('cpu', 0)):.1f}" for s in STAGES),
                f"{m['peak_rss_mb']:.0f}",
                f"{m['dbt_peak_rss_mb']:.0f}",
            ]
        )
    return rows


def current_commit() -> str:
    """The code being measured (``-dirty`` when the working tree has changes)."""
    described = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return described or "unknown"


def measured(result: dict, commit: str, repeats: int) -> dict:
    """A scenario's result, stamped with when, on which commit and with how many runs per
    timing it was measured (``--only`` re-runs some scenarios and keeps the others)."""
    return {
        **result,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "repeats": repeats,
    }


def main() -> int:
    args = parse_args()
    results: dict = {}
    if args.only:
        if not args.output.exists():
            raise SystemExit(f"--only needs the other scenarios' results in {args.output}")
        results = json.loads(args.output.read_text())
        if results.get("scale") != args.scale:
            raise SystemExit(f"--only: {args.output} was made at another --scale")
    commit = current_commit()
    shutil.rmtree(args.data_dir / "runs", ignore_errors=True)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.data_dir)
    started = time.monotonic()
    bench.say(f"simulator at scale {args.scale}: generating (about 80 s at network scale)")
    with SimulatorProcess(args.scale, 42, log_path=args.data_dir / "simulator.log") as sim:
        results.update(
            {
                "scale": args.scale,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            }
        )
        if args.only in (None, "real_limits"):
            # A fresh simulator first, so the per-hour counter starts at zero for scenario 2.
            results["real_limits"] = measured(
                scenarios.real_limits(bench, sim, args.repeats, args.per_hour), commit, args.repeats
            )
        if args.only in (None, "backfill"):
            backfill, database = scenarios.backfill(bench, sim, args.repeats)
            results["backfill"] = measured(backfill, commit, args.repeats)
            copy = scenarios.copy_baseline(bench, database, args.repeats)
            results["copy_baseline"] = measured(copy, commit, args.repeats)
            # The first run after a backfill builds marts__build in full (blue/green): not
            # an hourly one, so the quiet runs come first.
            quiet = scenarios.nothing_changed(bench, sim, database, args.repeats)
            results["nothing_changed"] = measured(quiet, commit, args.repeats)
            hourly = scenarios.hourly(bench, sim, database, args.repeats)
            results["hourly"] = measured(hourly, commit, args.repeats)
        if args.only in (None, "history"):
            history = scenarios.history(bench, sim, args.repeats)
            results["history"] = measured(history, commit, args.repeats)
        if args.only in (None, "freshness"):
            fresh = freshness.freshness(
                bench, sim, peak_minutes=args.peak_minutes, night_minutes=args.night_minutes
            )
            results["freshness"] = measured(fresh, commit, 1)
    results["targets"] = targets(results)
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    args.output.write_text(json.dumps(results, indent=2) + "\n")

    header = ["scenario", "records", "calls", "minimum", "429", "wall s"]
    header += [f"{s} cpu s" for s in STAGES] + ["ELT peak MB", "dbt peak MB"]
    print(f"\nat scale {args.scale}, medians of each scenario's runs (its 'repeats')")
    print("\n".join(table(header, scenario_rows(results))))
    print()
    for target in results["targets"]:
        print(f"{'PASS' if target['pass'] else 'FAIL'}  {target['target']}: {target['measured']}")
    print(f"\nwritten to {args.output} ({results['bench_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
