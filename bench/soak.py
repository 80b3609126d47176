"""``make soak``: hours of one-minute watch ticks under faults, against a clean twin.

Two watch runners read one simulator, each with its own application, data directory and
embedded PostgreSQL: the soaked one gets every fault, the twin none. Time is accelerated:
each ``tick_seconds`` of real time the simulator lets that time's activity happen and
advances its clock to make it one minute, and both runners tick every ``tick_seconds``. Each
simulated hour the soaked runner sees, at a fixed minute: its tokens revoked (10), a burst of
429s (20), a SIGKILL, restarted 5 s later as systemd's ``Restart=always`` would (30), its
PostgreSQL stopped, started again by its next tick (40), one answer slower than two ticks
(50); and throughout, 502 and 504 answers to one request in 40.

At the end both runners stop (SIGTERM), each runs ``full``, and both build every model at
the same API time (``INTRA_AS_OF``). Then: every mart must equal the twin's, row by row; the
history and the event log must hold the same content (the columns that record when and by
which run are left aside: the two runners saw the changes at different moments); and the
soaked runner's ledger must show that nothing it published was untested or had shrunk.

One difference in the history is not a failure, and is reported apart: a closed version
that only one runner holds. A poller sees a row's states at its reads; a state that came and
went between two reads of one runner (the soaked one was down, or read the row and its
scope at different moments) is a version only the other holds. The current versions must
be equal, and so must the event log, which dates changes by the API's own times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import REPO
from intra_simulator.control import SimulatorProcess
from pipelines.database import Database, embedded_database, stop_embedded
from pipelines.dbt_runner import run_dbt
from pipelines.intra.settings import DEFAULT_CURSUS_ID

LIFTED = {"per_second": 1_000_000, "per_hour": 1_000_000_000}
REAL_LIMITS = {"per_second": 2, "per_hour": 1200}
TWIN = ("clean-twin", "twin-secret")
# Columns that say when or through which run a row was recorded: they differ between two
# runners that saw the same changes at different moments. A version's api_changed_at is the
# row's updated_at when the runner read it: a row updated twice between two reads of one
# runner, the second time without a change the history keeps, has its version dated by the
# second update there and by the first in a runner that read in between.
WHEN_RECORDED = {
    "api_changed_at",
    "event_id",
    "recorded_at",
    "occurred_at",
    "occurred_at_source",
    "is_late",
    "valid_from",
    "valid_to",
    "valid_from_source",
    "recorded_load_id",
    "closed_load_id",
    "version",
    "counted_at",
}
# The closed versions of a history table, compared apart from its current ones.
CLOSED = " (closed versions)"


@dataclass
class Runner:
    """One ``intra-elt watch`` process with its data directory and settings."""

    name: str
    data_dir: Path
    env: dict
    tick_seconds: float
    process: subprocess.Popen | None = None
    starts: int = 0

    def command(self, *args: str, timeout: float = 3600) -> int:
        argv = [sys.executable, "-m", "pipelines", *args, "--data-dir", str(self.data_dir)]
        with open(self.data_dir / f"{args[0]}.log", "a") as log:
            return subprocess.run(
                argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode

    def start(self) -> None:
        every = self.tick_seconds
        argv = [sys.executable, "-m", "pipelines", "watch", "--data-dir", str(self.data_dir)]
        argv += ["--every", f"{every:g}", "--other-live-every", f"{5 * every:g}"]
        argv += ["--quiet-every", f"{3 * every:g}"]
        argv += ["--reference-every", f"{120 * every:g}"]
        log = open(self.data_dir / "watch.log", "a")  # noqa: SIM115 (open for the watch's life)
        self.process = subprocess.Popen(
            argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.starts += 1

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return -9

    def database(self) -> Database:
        return embedded_database(self.data_dir / "postgres")


@dataclass
class Faults:
    """What the soak did to the soaked runner, and when (simulated minute)."""

    done: list[dict] = field(default_factory=list)

    def note(self, minute: int, kind: str, detail: str = "") -> None:
        self.done.append(
            {"minute": minute, "kind": kind, "detail": detail, "at": datetime.now(UTC)}
        )


def recoveries(database: Database, done: list[dict]) -> list[dict]:
    """For each fault, how the soaked runner came through: the first run that started after
    it and ended ok, and how long after the fault it ended."""
    result = []
    with database.connect() as connection, connection.cursor() as cursor:
        for fault in done:
            cursor.execute(
                "select run_id, finished_at, published from elt.runs where started_at > %s "
                "and status = 'ok' order by run_id limit 1",
                (fault["at"],),
            )
            row = cursor.fetchone()
            cursor.execute(
                "select count(*) from elt.runs where started_at > %s and started_at < "
                "coalesce(%s, now()) and status <> 'ok'",
                (fault["at"], row[1] if row else None),
            )
            (failed,) = cursor.fetchone()
            result.append(
                {
                    **{k: v for k, v in fault.items() if k != "at"},
                    "next_ok_run": row[0] if row else None,
                    "ok_after_s": round((row[1] - fault["at"]).total_seconds(), 1) if row else None,
                    "runs_not_ok_before": failed,
                }
            )
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--scale", default="small", help="simulator scale (default: small)")
    parser.add_argument("--hours", type=int, default=6, help="simulated hours (6)")
    parser.add_argument(
        "--tick-seconds", type=float, default=6.0, help="real seconds per simulated minute (6)"
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / ".data" / "soak")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.json")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    started = time.monotonic()
    for name in ("soaked", "twin"):  # a soak starts from nothing
        if (args.data_dir / name / "postgres").exists():
            stop_embedded(args.data_dir / name)
        shutil.rmtree(args.data_dir / name, ignore_errors=True)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    say(
        f"soak: {args.hours} simulated hours at scale {args.scale}, a minute every "
        f"{args.tick_seconds:g} s"
    )
    with SimulatorProcess(args.scale, 42, log_path=args.data_dir / "simulator.log") as sim:
        admin = sim.admin
        admin.add_app(*TWIN)
        soaked = runner("soaked", args, sim.env())
        twin = runner(
            "twin",
            args,
            {
                **sim.env(),
                "SOURCES__INTRA__CLIENT_ID": TWIN[0],
                "SOURCES__INTRA__CLIENT_SECRET": TWIN[1],
            },
        )
        admin.configure(**LIFTED)
        for each in (soaked, twin):
            code = each.command("run")
            say(f"{each.name}: backfill exited {code}")
        admin.configure(**REAL_LIMITS, forget_calls=True)
        client = sim.client_id
        base = [
            {"kind": "status", "status": 502, "rate": 0.025, "client": client},
            {"kind": "status", "status": 504, "rate": 0.025, "client": client},
        ]
        admin.faults(*base)
        faults = Faults()
        soaked.start()
        twin.start()
        restart_at = None
        for minute in range(60 * args.hours):
            step = time.monotonic()
            at = minute % 60
            if restart_at is not None and time.monotonic() >= restart_at:
                soaked.start()
                restart_at = None
            exited = soaked.process.poll() if soaked.process else None
            if restart_at is None and exited is not None:  # systemd's Restart=always
                faults.note(minute, "the watch exited", f"exit {exited}; restarted 5 s later")
                restart_at = time.monotonic() + 5
            if at == 10:
                faults.note(minute, "token revoked", f"{admin.revoke(client)} live token(s)")
            elif at == 20:
                admin.faults(
                    *base,
                    {"kind": "status", "status": 429, "rate": 1.0, "times": 6, "client": client},
                )
                faults.note(minute, "429 burst", "the next 6 requests answered 429")
            elif at == 30:
                soaked.kill()
                restart_at = time.monotonic() + 5
                faults.note(minute, "SIGKILL", "restarted 5 s later")
            elif at == 40:
                faults.note(minute, "PostgreSQL stopped", stop_embedded(soaked.data_dir))
            elif at == 50:
                delay = 3 * args.tick_seconds
                admin.faults(
                    *base,
                    {"kind": "timeout", "delay": delay, "rate": 1.0, "times": 1, "client": client},
                )
                faults.note(minute, "slow answer", f"one answer after {delay:g} s")
            admin.happen(1.0)
            admin.advance(max(0.0, 60 - args.tick_seconds))
            if at in (0, 30) and minute:
                say(f"soak: simulated minute {minute} of {60 * args.hours}")
            time.sleep(max(0.0, args.tick_seconds - (time.monotonic() - step)))
        if restart_at is not None:
            soaked.start()
        fault_report = admin.stats().get("faults", [])
        admin.clear_faults()
        admin.configure(**LIFTED)
        codes = {each.name: each.stop() for each in (soaked, twin)}
        say(f"soak: watches stopped {codes}; full runs")
        fulls = {each.name: each.command("full") for each in (soaked, twin)}
        as_of = datetime.now(UTC).isoformat()
        result = compare(soaked, twin, as_of)
    result.update(
        simulated_hours=args.hours,
        tick_seconds=args.tick_seconds,
        scale=args.scale,
        watch_exit_codes=codes,
        full_exit_codes=fulls,
        faults_injected=recoveries(soaked.database(), faults.done),
        simulator_fault_rules=fault_report,
        soaked_starts=soaked.starts,
        ledger=ledger_checks(soaked.database()),
        seconds=round(time.monotonic() - started),
    )
    result["pass"] = (
        not result["marts_differ"]
        and not result["history_differs"]
        and not result["events_differ"]
        and result["ledger"]["ok"]
        and all(code == 0 for code in fulls.values())
    )
    write(args.output, result)
    say(f"soak: {'PASS' if result['pass'] else 'FAIL'}; written to {args.output}")
    print(json.dumps(result, indent=1, default=str))
    return 0 if result["pass"] else 1


def runner(name: str, args: argparse.Namespace, env: dict) -> Runner:
    data_dir = args.data_dir / name
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **env}
    environment.pop("DESTINATION__POSTGRES__CREDENTIALS", None)  # its own embedded server
    return Runner(name, data_dir, environment, args.tick_seconds)


def compare(soaked: Runner, twin: Runner, as_of: str) -> dict:
    """Both built in full at the same API time, then compared table by table."""
    tables = {}
    for each in (soaked, twin):
        database = each.database()
        built = run_dbt(
            database,
            "build",
            "--exclude-resource-type",
            "unit_test",
            dbt_vars={"cursus_id": DEFAULT_CURSUS_ID},
            dbt_env={"INTRA_AS_OF": as_of},
            log_dir=each.data_dir,
            target_dir=each.data_dir / "dbt-compare-target",
        )
        if not built.ok:
            raise RuntimeError(f"{each.name}: the comparison build failed: {built.problems}")
        tables[each.name] = snapshot(database)
    a, b = tables["soaked"], tables["twin"]
    differ = {name: diff(a.get(name, []), b.get(name, [])) for name in sorted(set(a) | set(b))}
    differ = {name: d for name, d in differ.items() if d}
    history = {n: d for n, d in differ.items() if n.startswith("history.")}
    return {
        "as_of": as_of,
        "tables_compared": len(set(a) | set(b)),
        "rows_compared": sum(len(rows) for rows in b.values()),
        "marts_differ": {n: d for n, d in differ.items() if n.startswith("marts__build.")},
        "history_differs": {n: d for n, d in history.items() if not n.endswith(CLOSED)},
        "history_seen_by_one": {n: d for n, d in history.items() if n.endswith(CLOSED)},
        "events_differ": {n: d for n, d in differ.items() if n == "marts.events"},
    }


def snapshot(database: Database) -> dict[str, list[tuple]]:
    """The freshly built marts, the history and the published event log, each sorted, without
    bookkeeping columns and those that say when a row was recorded."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select table_schema, table_name from information_schema.tables "
            "where (table_schema in ('marts__build', 'history') and table_type = 'BASE TABLE') "
            "or (table_schema = 'marts' and table_name = 'events')"
        )
        result = {}
        for schema, name in cursor.fetchall():
            cursor.execute(
                "select column_name from information_schema.columns where table_schema = %s "
                "and table_name = %s order by ordinal_position",
                (schema, name),
            )
            columns = [c for (c,) in cursor.fetchall() if not c.startswith("_")]
            versioned = "valid_to" in columns
            columns = [c for c in columns if c not in WHEN_RECORDED]
            listed = ", ".join(f'"{c}"' for c in columns)
            if not versioned:
                cursor.execute(f"select {listed} from {schema}.{name}")
                result[f"{schema}.{name}"] = sorted(cursor.fetchall(), key=repr)
                continue
            for part, closed in (("", "is null"), (CLOSED, "is not null")):
                cursor.execute(f"select {listed} from {schema}.{name} where valid_to {closed}")
                result[f"{schema}.{name}{part}"] = sorted(cursor.fetchall(), key=repr)
        return result


def diff(a: list[tuple], b: list[tuple]) -> dict:
    """Rows only in the soaked runner's table and only in the twin's (a few of each)."""
    left, right = Counter(map(repr, a)), Counter(map(repr, b))  # rows may hold lists
    only_a, only_b = sorted((left - right).elements()), sorted((right - left).elements())
    if not only_a and not only_b:
        return {}
    return {
        "only_soaked": len(only_a),
        "only_twin": len(only_b),
        "examples_soaked": [r[:300] for r in only_a[:3]],
        "examples_twin": [r[:300] for r in only_b[:3]],
    }


def ledger_checks(database: Database) -> dict:
    """Every publish of the soaked runner passed its build (dbt ok) and no mart lost more
    than half of its rows from one publish to the next; how its runs ended."""
    with database.connect() as connection, connection.cursor() as cursor:
        cursor.execute("select run_id, status, published, dbt, marts from elt.runs order by run_id")
        runs = cursor.fetchall()
    untested = [r[0] for r in runs if r[2] and not (r[3] or {}).get("ok", False)]
    shrunk = []
    previous: dict = {}
    for run_id, _, published, _, marts in runs:
        if not published or not marts:
            continue
        for name, count in marts.items():
            before = previous.get(name)
            if before and count is not None and count < before / 2:
                shrunk.append(f"run {run_id}: {name} {before} -> {count}")
        previous = {**previous, **marts}
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r[1]] = statuses.get(r[1], 0) + 1
    return {
        "runs": len(runs),
        "published": sum(1 for r in runs if r[2]),
        "statuses": statuses,
        "published_untested": untested,
        "published_shrunk": shrunk,
        "ok": not untested and not shrunk,
    }


def write(path: Path, result: dict) -> None:
    results = json.loads(path.read_text()) if path.exists() else {}
    results["soak"] = {
        **result,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
    }
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


def say(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
