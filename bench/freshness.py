"""Scenario 7 (``--only freshness``): the watch runner against a network that changes in real
time, at the real API limits, through an hour of peak and an hour of night.

How freshness is measured: every ``STEP_SECONDS`` the simulator makes the changes of the real
time that passed (``/_sim/happen``; at network scale that takes it about 3 s, during which it
serves nothing, so it is not done more often), the bench reads the new entries of its change
log and looks in the published marts for each changed record (``SUBJECTS``). A change is
published when its record is there with the ``updated_at`` the change left it with (the log's
``updated_at``) or a later one (a session: there at all when it began, with an ``end_at`` when
it ended). Its freshness is the time from the moment the simulator made it (and the API
showed it) to the end of the first tick that published it (the ledger's ``finished_at``).
The change log dates each change somewhere in the step before: from that date, freshness is
longer by half a step on average (reported beside, as ``from_stamp``).

A changed record that is not in the marts at the end is out of scope (not a student of a
kept campus, a project of another cursus...) and not counted; silent changes (docs/
api-behaviours.md) are the reconciliation's, not a tick's, and not counted either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.harness import REPO, Bench
from intra_simulator.control import SimulatorProcess
from pipelines.database import Database
from pipelines.intra.stamps import parse

PEAK_STUDENTS_PER_MINUTE = 60  # the real network's busiest minutes: 36-68 changed students
NIGHT_STUDENTS_PER_HOUR = 300  # and about 300 an hour at night
STUDENT_CHANGE_RATE = 0.03  # the simulator's share of students with a change per hour
REAL_LIMITS = {"per_second": 2, "per_hour": 1200}
LIFTED = {"per_second": 1_000_000, "per_hour": 1_000_000_000}
STEP_SECONDS = 20.0
WARM_UP_SECONDS = 300.0  # the watch's first ticks (builds of everything) are not measured
DRAIN_SECONDS = 390.0  # no activity: the last changes get published (other live: 5 min)
TICK_SECONDS = 60.0

# Where a change to a record shows in the published marts: subject -> (mart, key, resource).
SUBJECTS = {
    "projects_user": ("projects_users", "projects_user_id"),
    "cursus_user": ("cursus_users", "cursus_user_id"),
    "user": ("users", "user_id"),
    "achievements_user": ("achievements_users", "achievements_user_id"),
    "coalitions_user": ("coalitions_users", "coalitions_user_id"),
    "location": ("locations", "location_id"),
}
# The targets: p95 freshness per mart at peak (the issue names marks and registrations,
# levels and sessions: two minutes) and every other live table (ten minutes).
FAST = ("projects_users", "cursus_users", "locations")
FAST_SECONDS, OTHER_SECONDS = 120.0, 600.0


@dataclass
class Change:
    seq: int
    kind: str
    subject: str
    subject_id: int
    at: datetime  # the change log's date of the change
    made: datetime  # when the simulator made it (the API shows it from then on)
    version: datetime | None  # the record's updated_at once changed
    phase: str
    published: datetime | None = None


@dataclass
class Watcher:
    """What the bench saw while the watch ran."""

    changes: dict[tuple[str, int], list[Change]] = field(default_factory=dict)
    done: list[Change] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds from start, MB)
    steps: list[dict] = field(default_factory=list)


def freshness(
    bench: Bench,
    sim: SimulatorProcess,
    database: Database | None = None,
    workdir: Path | None = None,
    peak_minutes: float = 60.0,
    night_minutes: float = 60.0,
) -> dict:
    """Backfill (limits lifted) unless given a backfilled database, then the watch through
    ``peak_minutes`` of peak and ``night_minutes`` of night activity at the real limits."""
    admin = sim.admin
    if database is None or workdir is None:
        admin.configure(**LIFTED)
        database, workdir = bench.fresh()
        run = bench.run(sim, database, workdir)
        if run.code != 0:
            raise RuntimeError(f"freshness backfill exited {run.code}")
        bench.say(f"freshness: backfill in {run.wall:.0f} s")
    students = admin.happen(0)["students"]  # the real time since the backfill, no change
    peak = PEAK_STUDENTS_PER_MINUTE * 60 / (STUDENT_CHANGE_RATE * students)
    night = NIGHT_STUDENTS_PER_HOUR / (STUDENT_CHANGE_RATE * students)
    admin.configure(**REAL_LIMITS, forget_calls=True)  # the backfill's calls: another hour
    offset = datetime.fromisoformat(admin.call("GET", "health")["now"]).timestamp() - time.time()
    seen = Watcher()
    last_seq = max((c["seq"] for c in admin.changes(0)), default=0)
    watch = start_watch(sim, database, workdir)
    started = time.monotonic()
    phases = [
        ("warm-up", WARM_UP_SECONDS, peak),
        ("peak", 60 * peak_minutes, peak),
        ("night", 60 * night_minutes, night),
        ("drain", DRAIN_SECONDS, 0.0),
    ]
    bounds = {}
    try:
        for phase, seconds, intensity in phases:
            bench.say(f"freshness: {phase} for {seconds / 60:.0f} min at intensity {intensity:.2f}")
            bounds[phase] = [datetime.now(UTC), None]
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                step_started = time.monotonic()
                if watch.poll() is not None:
                    raise RuntimeError(f"the watch exited {watch.returncode}: see {workdir}")
                report = admin.happen(intensity) if intensity else {"changed": {}}
                made = datetime.fromtimestamp(time.time() + offset, UTC)
                last_seq = take_changes(seen, admin.changes(last_seq), last_seq, phase, made)
                look(seen, database, offset)
                seen.rss.append((time.monotonic() - started, tree_rss_mb(watch.pid)))
                seen.steps.append({"phase": phase, "changed": report.get("changed", {})})
                time.sleep(max(0.0, STEP_SECONDS - (time.monotonic() - step_started)))
            bounds[phase][1] = datetime.now(UTC)
    finally:
        watch.send_signal(signal.SIGTERM)
        try:
            watch.wait(timeout=300)
        except subprocess.TimeoutExpired:
            watch.kill()
    look(seen, database, offset)
    return summarize(seen, database, bounds, peak, night, students)


def start_watch(sim: SimulatorProcess, database: Database, workdir: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "pipelines", "watch", "--data-dir", str(workdir)]
    argv += ["--every", f"{TICK_SECONDS:g}"]
    environment = {**os.environ, **sim.env(), "DESTINATION__POSTGRES__CREDENTIALS": database.dsn}
    log = open(workdir / "watch.log", "w")  # noqa: SIM115 (open for the watch's life)
    return subprocess.Popen(argv, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)


def tree_rss_mb(pid: int) -> float:
    """The resident memory of the watch and its children (dlt's normalize workers)."""
    try:
        process = psutil.Process(pid)
        processes = [process, *process.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes) / 2**20
    except psutil.Error:
        return 0.0


def take_changes(
    seen: Watcher, entries: list[dict], last_seq: int, phase: str, made: datetime
) -> int:
    """Add the change log's new entries that a tick can publish (not silent, a record of a
    mart) to the changes the bench waits to see."""
    for entry in entries:
        last_seq = max(last_seq, entry["seq"])
        if entry["silent"] or entry["subject"] not in SUBJECTS or phase == "warm-up":
            continue
        if entry["subject"] == "location" and entry["kind"] not in (
            "location_begun",
            "location_ended",
        ):
            continue
        change = Change(
            entry["seq"],
            entry["kind"],
            entry["subject"],
            entry["subject_id"],
            moment(entry["at"]),
            made,
            moment(entry.get("updated_at")),
            phase,
        )
        seen.changes.setdefault((entry["subject"], entry["subject_id"]), []).append(change)
    return last_seq


def look(seen: Watcher, database: Database, offset: float) -> None:
    """Find the waiting changes that the published marts now show; each is dated by the end
    of the newest published tick (in the simulator's time)."""
    by_subject: dict[str, list[int]] = {}
    for subject, subject_id in seen.changes:
        by_subject.setdefault(subject, []).append(subject_id)
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select max(finished_at) from elt.runs where published and mode = 'tick'")
        (published_at,) = cursor.fetchone()
        if published_at is None:
            return
        published_at = datetime.fromtimestamp(published_at.timestamp() + offset, UTC)
        for subject, ids in by_subject.items():
            mart, key = SUBJECTS[subject]
            stamp = "end_at" if subject == "location" else "updated_at"
            cursor.execute(f"select {key}, {stamp} from marts.{mart} where {key} = any(%s)", (ids,))
            for subject_id, value in cursor.fetchall():
                waiting = seen.changes[(subject, subject_id)]
                shown = [c for c in waiting if is_shown(c, value)]
                for change in shown:
                    change.published = published_at
                    seen.done.append(change)
                rest = [c for c in waiting if c not in shown]
                if rest:
                    seen.changes[(subject, subject_id)] = rest
                else:
                    del seen.changes[(subject, subject_id)]


def moment(stamp: str | None) -> datetime | None:
    return parse(stamp) if stamp else None


def is_shown(change: Change, value: datetime | None) -> bool:
    """Whether the record as published (its ``updated_at``, a session's ``end_at``) shows
    the change."""
    if change.kind == "location_begun":
        return True  # the session is there
    if change.kind == "location_ended":
        return value is not None
    if change.version is None:
        return True  # a record without updated_at: there is all it can show
    return value is not None and value.timestamp() >= change.version.timestamp() - 0.001


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarize(
    seen: Watcher, database: Database, bounds: dict, peak: float, night: float, students: int
) -> dict:
    freshness_by: dict = {}
    for phase in ("peak", "night"):
        made: dict[str, list[float]] = {}
        stamped: dict[str, list[float]] = {}
        for change in seen.done:
            if change.phase == phase:
                mart = SUBJECTS[change.subject][0]
                made.setdefault(mart, []).append((change.published - change.made).total_seconds())
                stamped.setdefault(mart, []).append((change.published - change.at).total_seconds())
        freshness_by[phase] = {
            mart: {
                "changes": len(values),
                "p50_s": round(percentile(values, 0.5), 1),
                "p95_s": round(percentile(values, 0.95), 1),
                "max_s": round(max(values), 1),
                "from_stamp_p95_s": round(percentile(stamped[mart], 0.95), 1),
            }
            for mart, values in sorted(made.items())
        }
    unseen = [c for waiting in seen.changes.values() for c in waiting]
    present = unseen_in_marts(database, unseen)
    ticks = tick_rows(database, bounds)
    return {
        "students": students,
        "intensity": {"peak": round(peak, 3), "night": round(night, 3)},
        "changed_students_per_hour": {
            "peak": PEAK_STUDENTS_PER_MINUTE * 60,
            "night": NIGHT_STUDENTS_PER_HOUR,
        },
        "freshness": freshness_by,
        "never_published": {  # in the marts at the end, but never with the change: misses
            "count": len(present),
            "examples": [
                f"{c.kind} {c.subject} {c.subject_id} at {c.at:%H:%M:%S}" for c in present[:10]
            ],
        },
        "out_of_scope_changes": len(unseen) - len(present),
        "ticks": ticks,
        "rss_mb": memory(seen.rss),
    }


def unseen_in_marts(database: Database, unseen: list[Change]) -> list[Change]:
    """The waiting changes whose record the marts hold (the rest are out of scope)."""
    held: set[tuple[str, int]] = set()
    with database.connect() as connection, connection.cursor() as cursor:
        for subject in {change.subject for change in unseen}:
            mart, key = SUBJECTS[subject]
            ids = [change.subject_id for change in unseen if change.subject == subject]
            cursor.execute(f"select {key} from marts.{mart} where {key} = any(%s)", (ids,))
            held.update((subject, subject_id) for (subject_id,) in cursor.fetchall())
    return [change for change in unseen if (change.subject, change.subject_id) in held]


def tick_rows(database: Database, bounds: dict) -> dict:
    """Per phase: calls per tick and per hour against the quota, dbt seconds per tick (by
    records loaded), ticks that loaded nothing and ran no dbt."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select started_at, coalesce(api_calls, 0), resources, seconds, status, published,"
            " dbt ->> 'summaries' from elt.runs where mode = 'tick' order by run_id"
        )
        rows = cursor.fetchall()
    result = {}
    for phase in ("peak", "night"):
        start, end = bounds.get(phase, (None, None))
        if start is None or end is None:
            continue
        ticks = [r for r in rows if start <= r[0] < end]
        hours = (end - start).total_seconds() / 3600
        calls = [r[1] for r in ticks]
        records = [  # loaded: read, less what was read again as it was (rereads.py)
            sum((v.get("read") or 0) - (v.get("unchanged") or 0) for v in (r[2] or {}).values())
            for r in ticks
        ]
        dbt = [float((r[3] or {}).get("dbt") or 0.0) for r in ticks]
        small = [d for d, n in zip(dbt, records, strict=True) if 0 < n < 500]
        empty = [d for d, n in zip(dbt, records, strict=True) if n == 0]
        kept = [  # the ticks that left the summaries out (selection.SUMMARIES)
            d for d, n, r in zip(dbt, records, ticks, strict=True) if 0 < n < 500 and r[6] == "kept"
        ]
        total = [float((r[3] or {}).get("total") or 0.0) for r in ticks]
        result[phase] = {
            "ticks": len(ticks),
            "failed": sum(1 for r in ticks if r[4] != "ok"),
            "calls_per_tick": {"p50": percentile(calls, 0.5), "max": max(calls, default=0)},
            "calls_per_hour": round(sum(calls) / hours, 1) if hours else None,
            "quota_share": round(sum(calls) / hours / REAL_LIMITS["per_hour"], 4)
            if hours
            else None,
            "records_per_tick": {"p50": percentile(records, 0.5), "max": max(records, default=0)},
            "dbt_seconds_under_500_records": {
                "ticks": len(small),
                "p50": percentile(small, 0.5),
                "p95": percentile(small, 0.95),
                "max": max(small, default=None),
            },
            "dbt_seconds_under_500_records_summaries_kept": {
                "ticks": len(kept),
                "p50": percentile(kept, 0.5),
                "p95": percentile(kept, 0.95),
            },
            "summaries_built": sum(1 for r in ticks if r[6] == "built"),
            "tick_seconds": {"p50": percentile(total, 0.5), "p95": percentile(total, 0.95)},
            "ticks_loading_nothing": len(empty),
            "dbt_seconds_when_nothing_loaded": max(empty, default=0.0),
        }
    return result


def memory(samples: list[tuple[float, float]]) -> dict:
    """Peak resident memory of the first and the last hour of the run (halves, if shorter)."""
    if not samples:
        return {}
    end = samples[-1][0]
    span = min(3600.0, end / 2)
    first = [mb for t, mb in samples if t <= span]
    last = [mb for t, mb in samples if t >= end - span]
    return {
        "span_s": round(span),
        "first_peak": round(max(first), 1),
        "last_peak": round(max(last), 1),
        "growth": round(max(last) / max(first) - 1, 4),
    }


def targets(result: dict) -> list[dict]:
    """The freshness issue's targets, measured."""
    fresh = result["freshness"]
    peak_fast = {m: fresh["peak"].get(m, {}).get("p95_s") for m in FAST}
    others = {
        f"{phase} {m}": v["p95_s"]
        for phase in ("peak", "night")
        for m, v in fresh[phase].items()
        if m not in FAST
    }
    ticks = result["ticks"]
    small = {p: ticks[p]["dbt_seconds_under_500_records"] for p in ticks}
    worst_small = max((s["max"] or 0.0) for s in small.values())
    nothing = max(ticks[p]["dbt_seconds_when_nothing_loaded"] for p in ticks)
    rss = result["rss_mb"]
    return [
        {
            "target": "p95 freshness < 2 min at peak: registrations and marks, levels, sessions",
            "measured": ", ".join(f"{m} {v} s" for m, v in peak_fast.items()),
            "pass": all(v is not None and v < FAST_SECONDS for v in peak_fast.values()),
        },
        {
            "target": "p95 freshness < 10 min for every other live table",
            "measured": ", ".join(f"{m} {v} s" for m, v in others.items()),
            "pass": all(v < OTHER_SECONDS for v in others.values()),
        },
        {
            "target": "under 50% of the hourly quota at peak, under 25% at night",
            "measured": f"peak {ticks['peak']['calls_per_hour']} calls/h "
            f"({ticks['peak']['quota_share']:.1%}), night {ticks['night']['calls_per_hour']} "
            f"calls/h ({ticks['night']['quota_share']:.1%})",
            "pass": ticks["peak"]["quota_share"] < 0.5 and ticks["night"]["quota_share"] < 0.25,
        },
        {
            "target": "dbt < 5 s for a tick loading < 500 records, 0 s for one loading none",
            "measured": "; ".join(
                f"{p}: {s['ticks']} ticks, p50 {s['p50']} s, p95 {s['p95']} s, max {s['max']} s"
                for p, s in small.items()
            )
            + f"; nothing loaded: {sum(ticks[p]['ticks_loading_nothing'] for p in ticks)} ticks, "
            f"max dbt {nothing} s",
            "pass": worst_small < 5.0 and nothing == 0.0,
        },
        {
            "target": "memory flat: the last hour's peak RSS within 10% of the first's",
            "measured": f"{rss['first_peak']} MB then {rss['last_peak']} MB "
            f"({rss['growth']:+.1%}; first and last {rss['span_s'] / 60:.0f} min)",
            "pass": rss["growth"] <= 0.10,
        },
        {
            "target": "every change a tick can see is published",
            "measured": f"{result['never_published']['count']} never published; "
            f"{result['out_of_scope_changes']} out of scope",
            "pass": result["never_published"]["count"] == 0,
        },
    ]
