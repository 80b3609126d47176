"""The command line of a run (``python -m pipelines.elt``, ``intra-elt run|full``): its
arguments, the run lock, and the exit code cron sees."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pipelines.config import RESOURCES, ExitCode
from pipelines.run.orchestration import Run
from pipelines.run.output import log_to_file, say
from pipelines.run_lock import AlreadyRunning, RunLock

DESCRIPTION = (
    "``make elt`` (hourly) and ``make elt-full`` (weekly reconciliation): one run, for cron."
)


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("INTRA_ELT_DATA_DIR", ".data")),
        help="lock, dlt state, logs and the embedded database (default: env "
        "INTRA_ELT_DATA_DIR, else .data)",
    )


def add_run_arguments(parser: argparse.ArgumentParser, reconcile: bool) -> None:
    """The options of one run, shared by ``python -m pipelines.elt`` and ``intra-elt run|full``
    so that both parse the same command line."""
    parser.add_argument(
        "--resources",
        nargs="+",
        choices=list(RESOURCES),
        default=list(RESOURCES),
        help="extract only these resources, in this order (default: all)",
    )
    parser.add_argument("--skip-dbt", action="store_true", help="extract and load only")
    add_data_dir_argument(parser)
    parser.set_defaults(full=False, accept_shrink=False)
    if reconcile:
        parser.add_argument(
            "--accept-shrink",
            action="store_true",
            help="publish marts that lost more than INTRA_MAX_MART_SHRINK of their rows (a "
            "real shrink, e.g. campuses closing); without it such a build is not published",
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.elt", description=DESCRIPTION)
    add_run_arguments(parser, reconcile=True)
    parser.add_argument(
        "--full",
        action="store_true",
        help="reconcile: re-read live resources in full, drop what the API lost",
    )
    args = parser.parse_args(argv)
    if args.accept_shrink and not args.full:
        parser.error("--accept-shrink goes with --full (intra-elt full --accept-shrink)")
    return args


def main(argv: list[str] | None = None) -> int:
    return run_locked(parse_args(argv))


def run_locked(args: argparse.Namespace) -> int:
    """One run under the run lock, its output copied to the data directory's log file."""
    try:
        with RunLock(args.data_dir / "elt.lock"), log_to_file(args.data_dir):
            return Run(args).execute()
    except AlreadyRunning as busy:
        say(str(busy))
        return ExitCode.BUSY
