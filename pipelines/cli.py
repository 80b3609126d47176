"""``intra-elt``: the one command behind cron and the Makefile.

GNU make exits 2 whatever its recipe returned, so cron calls this script directly and keeps
exit codes that say what to do: 0 ok; 1 something failed; 2 configuration or credentials to
fix; 3 the hourly API quota is spent (the next run resumes); 75 another run holds the lock.
``status`` exits 1 when the last run failed or a source is stale; ``report`` 1 when a mart it
reads is not published yet. Every subcommand takes ``--data-dir`` (default: env
INTRA_ELT_DATA_DIR, else .data; the demo keeps its own).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from pipelines.commands import db_stop, dbt_by_hand, demo, docs, report, status
from pipelines.config import RESOURCES, ExitCode
from pipelines.data_dir import DataDirError, check_data_dir
from pipelines.run.orchestration import RunOptions, run_locked
from pipelines.run.watch import WatchOptions, watch_locked

EXIT_CODES = (
    "exit codes: 0 ok, 1 failed, 2 configuration or credentials, 3 hourly API quota spent "
    "(the next run resumes), 75 another run holds the lock"
)


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("INTRA_ELT_DATA_DIR", ".data")),
        help="lock, dlt state, logs and the embedded database (default: env "
        "INTRA_ELT_DATA_DIR, else .data)",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``run``, ``full`` and ``watch`` share."""
    parser.add_argument(
        "--resources",
        nargs="+",
        choices=list(RESOURCES),
        default=list(RESOURCES),
        help="extract only these resources, in this order (default: all)",
    )
    parser.add_argument("--skip-dbt", action="store_true", help="extract and load only")
    add_data_dir_argument(parser)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def positive_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of at least 1")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intra-elt",
        description="Mirror the 42 intranet API into PostgreSQL (dlt + dbt).",
        epilog=EXIT_CODES,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, summary: str, epilog: str | None = None) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary, epilog=epilog)

    run = command(
        "run", "the hourly run: extract and load what changed, then dbt build", EXIT_CODES
    )
    add_run_arguments(run)
    run.set_defaults(full=False, accept_shrink=False)
    full = command(
        "full",
        "the weekly full run: re-read the live data in full, drop what the API deleted",
        EXIT_CODES,
    )
    add_run_arguments(full)
    full.add_argument(
        "--accept-shrink",
        action="store_true",
        help="publish marts that lost more than INTRA_MAX_MART_SHRINK of their rows (a "
        "real shrink, e.g. campuses closing); without it such a build is not published",
    )
    full.set_defaults(full=True)
    watch = command(
        "watch",
        "the long-lived runner: a tick every --every seconds in one process, reading only "
        "what is due and building only what a tick loaded; SIGTERM ends it",
        "exits 0 on SIGTERM or after --ticks, 2 when settings or credentials need fixing, "
        "75 when another run holds the lock; a failing tick is in the ledger and the next "
        "one goes on",
    )
    add_run_arguments(watch)
    watch.add_argument(
        "--every", type=positive_seconds, default=60.0, help="seconds between ticks (60)"
    )
    watch.add_argument(
        "--other-live-every",
        type=positive_seconds,
        default=300.0,
        help="seconds between reads of the live resources not read every tick: users, "
        "campus_users, achievements_users, coalitions_users (300)",
    )
    watch.add_argument(
        "--reference-every",
        type=positive_seconds,
        default=6 * 3600.0,
        help="seconds between reads of each reference snapshot (21600: six hours)",
    )
    watch.add_argument(
        "--quiet-every",
        type=positive_seconds,
        default=300.0,
        help="seconds projects_users, cursus_users and locations wait between reads while "
        "their last read found fewer than 10 changes a minute, as at night (300)",
    )
    watch.add_argument(
        "--summaries-every",
        type=positive_seconds,
        default=600.0,
        help="seconds between builds of the analytics summaries over every student "
        "(student_progress, the heatmap, project_stats, cohort_progress, campus_monthly, "
        "coalition_standings_monthly); the ticks between keep the published ones (600)",
    )
    watch.add_argument(
        "--ticks", type=positive_count, help="end after this many ticks (default: until SIGTERM)"
    )
    watch.add_argument(
        "--build-all",
        action="store_true",
        help="build every dbt node after a load, not only those downstream of the raw "
        "tables loaded since the build schema's state (the default)",
    )
    add_data_dir_argument(
        command(
            "status",
            "last runs, freshness of every mart, the last failure and why",
            "exits 1 when the last run failed or a source is stale, for monitoring",
        )
    )
    add_data_dir_argument(command("docs", "dbt docs generate, then serve them"))
    report_command = command(
        "report",
        "the analytics report: one HTML page of charts from the published marts, offline",
        "exits 1 when a mart it reads is not published yet, 2 when there is no database",
    )
    add_data_dir_argument(report_command)
    report_command.add_argument(
        "--output",
        type=Path,
        help=f"where to write the page (default: <data dir>/{report.REPORT_FILE})",
    )
    demo_command = command(
        "demo", "the whole ELT against the simulator, with its own data directory"
    )
    demo_command.add_argument(
        "--data-dir",
        type=Path,
        default=demo.DEMO_DATA_DIR,
        help=f"default {demo.DEMO_DATA_DIR}: demo data never mixes with production data "
        "(INTRA_ELT_DATA_DIR does not apply)",
    )
    dbt = command(
        "dbt",
        "dbt by hand on the ELT's database, e.g. 'intra-elt dbt test' (--data-dir goes "
        "before or after the dbt command; the rest is passed to dbt)",
    )
    add_data_dir_argument(dbt)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="the dbt command and options")
    add_data_dir_argument(command("db-stop", "stop the embedded PostgreSQL"))
    return parser


# The commands that only read (and stop) need no writable data directory (the report writes
# only its page, which may go elsewhere: --output).
READ_ONLY = ("status", "db-stop", "report")


def data_dir_among_dbt_args(args: argparse.Namespace) -> None:
    """``intra-elt dbt test --data-dir D``: the option after the dbt command is ours too (dbt
    has no --data-dir); taken out of what goes to dbt."""
    rest, values = [], iter(args.dbt_args)
    for arg in values:
        if arg == "--data-dir":
            args.data_dir = Path(next(values, ""))
        elif arg.startswith("--data-dir="):
            args.data_dir = Path(arg.partition("=")[2])
        else:
            rest.append(arg)
    args.dbt_args = rest


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "dbt":
        data_dir_among_dbt_args(args)
    try:
        check_data_dir(args.data_dir, writable=args.command not in READ_ONLY)
    except DataDirError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return ExitCode.CONFIG
    if args.command in ("run", "full"):
        return run_locked(
            RunOptions(
                args.data_dir,
                full=args.full,
                accept_shrink=args.accept_shrink,
                resources=tuple(args.resources),
                skip_dbt=args.skip_dbt,
            )
        )
    if args.command == "watch":
        return watch_locked(
            WatchOptions(
                args.data_dir,
                every=args.every,
                other_live_every=args.other_live_every,
                reference_every=args.reference_every,
                resources=tuple(args.resources),
                skip_dbt=args.skip_dbt,
                ticks=args.ticks,
                selective=not args.build_all,
                summaries_every=args.summaries_every,
                quiet_every=args.quiet_every,
            )
        )
    if args.command == "status":
        return status.main(args.data_dir)
    if args.command == "docs":
        return docs.main(args.data_dir)
    if args.command == "report":
        return report.main(args.data_dir, args.output)
    if args.command == "demo":
        return demo.main(args.data_dir)
    if args.command == "dbt":
        return dbt_by_hand.main(args.dbt_args, args.data_dir)
    return db_stop.main(args.data_dir)
