"""One run from settings to summary: preflight, extract and load per resource, raw indexes,
privacy erasure, dbt build and publish, in that order. Each step lives in its own module; this
one decides what runs after what, and what a failure stops."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dlt
import psycopg2

from pipelines.config import (
    MARTS,
    MARTS_SCHEMA,
    PIPELINE_NAME,
    RAW_SCHEMA,
    RESOURCES,
    ExitCode,
    RunStatus,
    source_setting,
)
from pipelines.database import Database, DatabaseError, resolve_database
from pipelines.dbt_runner import DbtResult, run_dbt
from pipelines.intra.auth import InvalidCredentials
from pipelines.intra.locations import span_start
from pipelines.intra.settings import LIVE_ENDPOINTS, LOCATIONS_DAYS, REFERENCE_ENDPOINTS
from pipelines.run import ledger
from pipelines.run.connect import Connection, connect_api
from pipelines.run.data_warnings import unknown_time_zones
from pipelines.run.errors import describe_error, root_cause
from pipelines.run.extract_load import STOP_REQUESTED, ExtractLoad
from pipelines.run.outcome import Outcome, ResourceResult, print_report
from pipelines.run.output import log_to_file, say
from pipelines.run.privacy import (
    Erasure,
    changes_marts,
    erase_anonymized,
    erase_anonymized_in_previous_marts,
)
from pipelines.run.progress import ProgressHandler
from pipelines.run.publish import discard_build, publish
from pipelines.run.raw_indexes import create_raw_indexes
from pipelines.run.run_lock import AlreadyRunning, RunLock
from pipelines.run.selection import kept_summaries, selection_flags, tables_loaded_since
from pipelines.run.stages import StageClock


@dataclass(frozen=True)
class RunOptions:
    """What one run is asked to do: ``intra-elt run`` or, with ``full``, ``intra-elt full``."""

    data_dir: Path
    full: bool = False  # re-read the live data in full and drop what the API deleted
    accept_shrink: bool = False  # publish a build that the volume guard would refuse
    resources: tuple[str, ...] = tuple(RESOURCES)
    skip_dbt: bool = False
    # A watch tick skips dbt when it loaded nothing: the marts already hold what raw holds.
    dbt_only_after_loads: bool = False
    # With dbt_only_after_loads: also build when an earlier run's loads are not published.
    retry_unpublished: bool = True
    # Why each resource is read, for the ledger (a watch tick reads only what is due).
    reasons: tuple[tuple[str, str], ...] = ()
    # A watch tick: build only what the raw tables loaded after this load change (the build
    # schema holds the rest; run/selection.py). None: build everything.
    build_changed_since: str | None = None
    # With build_changed_since: whether the selective build makes the summaries
    # (selection.SUMMARIES); when not, the published ones stay in place.
    summaries_due: bool = True

    def why(self) -> dict[str, str]:
        default = "full run" if self.full else "every run"
        reasons = dict(self.reasons)
        return {name: reasons.get(name, default) for name in self.resources}


def run_locked(options: RunOptions) -> ExitCode:
    """One run under the run lock, its output copied to the data directory's log file."""
    return under_run_lock(options.data_dir, Run(options).execute)


def under_run_lock(data_dir: Path, work: Callable[[], ExitCode]) -> ExitCode:
    """``work`` holding the data directory's run lock (75 when another run holds it), what
    it prints copied to the data directory's log file."""
    try:
        with RunLock(data_dir / "elt.lock"), log_to_file(data_dir):
            return work()
    except AlreadyRunning as busy:
        say(str(busy))
        return ExitCode.BUSY


class Run:
    """One ELT run, from settings to summary."""

    def __init__(
        self,
        options: RunOptions,
        stop: threading.Event | None = None,
        dbt: Callable[..., DbtResult] = run_dbt,
    ) -> None:
        self.options = options
        self.stop = stop  # set by SIGTERM on a watch: the tick ends after its resource
        self.dbt = dbt  # a dbt process per build; a watch keeps dbt in its own (KeptDbt)
        self.run_id = 0  # its row in the ledger, once started
        self.outcome: Outcome | None = None  # how it ended, once it has (a watch reads it)
        self.data_dir: Path = options.data_dir
        self.progress = ProgressHandler(warn=say)
        self.clock = StageClock()
        logging.getLogger("pgserver").setLevel(logging.WARNING)

    def execute(self, connection: Connection | None = None) -> ExitCode:
        """The run; with ``connection`` (a watch's, checked once) no token or check call."""
        # The progress line's handler lives as long as the run: a watch's ticks would
        # otherwise pile one handler per tick on the logger.
        progress_log = logging.getLogger("intra.progress")
        progress_log.addHandler(self.progress)
        progress_log.setLevel(logging.INFO)
        progress_log.propagate = False
        try:
            return self.execute_with_progress(connection)
        finally:
            progress_log.removeHandler(self.progress)

    def execute_with_progress(self, connection: Connection | None) -> ExitCode:
        started = time.monotonic()
        # Settings and API first: a run that cannot read the API starts no database (an
        # embedded one would be created in the data directory) and records no run.
        outcome = Outcome()
        if connection is not None:
            outcome.api, outcome.connected = connection.api, False
        else:
            connection = connect_api(self.options.full, outcome)
        if connection is None:
            outcome.total_seconds = time.monotonic() - started
            print_report(outcome)
            return outcome.code
        try:
            database = resolve_database(self.data_dir)
            with database.connect():
                pass
        except DatabaseError as error:
            say(f"ERROR database: {error}")
            return ExitCode.CONFIG
        mode = "full" if self.options.full else "incremental"
        mode = "tick" if self.options.dbt_only_after_loads else mode
        if database.newest_load_id() is None:  # nothing loaded yet: it reads everything
            mode = "backfill"
        run_id = self.run_id = ledger.start(database, mode)
        try:
            outcome = self.outcome = self.run(database, connection, outcome, mode, started)
        except (DatabaseError, psycopg2.Error) as error:
            # The database went away mid-run: every step commits on its own, so what is not
            # done is simply not there; the next run redoes it.
            message = f"database unreachable: {describe_error(root_cause(error))}"
            say(f"ERROR {message}")
            say("the run stops here; nothing half-written is published; rerun when it is back")
            with contextlib.suppress(DatabaseError, psycopg2.Error):
                ledger.finish(database, run_id, status=RunStatus.FAILED.value, message=message)
            say("done: FAILED")
            return ExitCode.FAILED
        except Exception as error:  # anything unforeseen still ends in the ledger
            message = describe_error(root_cause(error))
            with contextlib.suppress(DatabaseError, psycopg2.Error):
                ledger.finish(database, run_id, status=RunStatus.FAILED.value, message=message)
            raise
        ledger.finish(database, run_id, **outcome.ledger())
        return outcome.code

    def run(
        self,
        database: Database,
        connection: Connection,
        outcome: Outcome,
        mode: str,
        started: float,
    ) -> Outcome:
        api, cursus_id = connection.api, connection.cursus_id
        say(f"start: {mode} run, cursus {cursus_id}, API {api.base_url}, {database.describe()}")

        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            destination=dlt.destinations.postgres(credentials=database.dsn),
            dataset_name=RAW_SCHEMA,
            pipelines_dir=str(self.data_dir / "dlt"),
        )
        extract_started = time.monotonic()
        loader = ExtractLoad(pipeline, connection, database, self.clock, self.progress)
        results, fatal, stopped = loader.run(self.options.resources, self.stop)
        outcome.results = results
        outcome.reasons = self.options.why()
        outcome.problems.extend(f"{r.name}: {r.status}" for r in results if r.failed)
        erasure = Erasure()  # what the erasure changed in raw (a build must follow)
        if fatal:
            code = ExitCode.CONFIG if isinstance(fatal, InvalidCredentials) else ExitCode.FAILED
            outcome.problem(code, str(fatal))
            say(f"ERROR {fatal}")
            say("nothing more is extracted and dbt does not run: the marts stay as they were")
        else:
            as_of = api.server_now()
            create_raw_indexes(database)  # what the erasure and dbt's incremental reads use
            kept_days = source_setting("locations_days", LOCATIONS_DAYS)
            kept_since = span_start(as_of, int(kept_days))
            erasure = erase_anonymized(database, as_of, kept_since)
            if erasure.changed:
                say(
                    "erased anonymized users' personal fields in raw: "
                    + ", ".join(f"{k} {v}" for k, v in erasure.changed.items())
                )
        outcome.extract_seconds = time.monotonic() - extract_started

        # A tick builds only when the marts lack something raw holds: what it loaded, or what
        # a tick since the last publish loaded (its build failed, or it was killed).
        loaded = any(r.loaded for r in results) or changes_marts(erasure.changed)
        if self.options.dbt_only_after_loads and not loaded and self.options.retry_unpublished:
            loaded = ledger.unpublished_loads(database, self.run_id)
        if fatal:
            pass
        elif self.options.skip_dbt:
            say("dbt skipped (--skip-dbt); nothing published")
        elif self.options.dbt_only_after_loads and not loaded and mode != "backfill":
            say("nothing loaded: no dbt build, the marts stay as they are")
        else:
            # rows of earlier loads rewritten: the build schema may hold them as they were
            since = self.options.build_changed_since
            erased = changes_marts(erasure.changed)
            outcome.scrubbed = erased and not erasure.rewrote_only_loads_after(since)
            self.build_and_publish(database, connection, results, as_of, outcome, erased)

        if not outcome.problems and stopped == STOP_REQUESTED:
            outcome.status = RunStatus.STOPPED
            outcome.message = "stopped early on request (SIGTERM); what was loaded is published"
        elif not outcome.problems and stopped:
            outcome.code = ExitCode.QUOTA
            outcome.status = RunStatus.QUOTA
            outcome.message = f"stopped early: {stopped}; what was loaded is published"
        elif outcome.problems and outcome.code == ExitCode.OK:
            outcome.code, outcome.status = ExitCode.FAILED, RunStatus.FAILED
        return self.end(outcome, database, started)

    def build_and_publish(
        self,
        database: Database,
        connection: Connection,
        results: list[ResourceResult],
        as_of,
        outcome: Outcome,
        erased: bool = False,
    ) -> None:
        """``dbt build`` into the build schema, then the swap into ``marts`` if every
        error-severity test passed; otherwise the build is dropped and the marts stay.
        ``erased``: the erasure rewrote rows in raw, whose users a summary may name (those
        are then built, due or not: a kept one would keep the personal values)."""
        reports = connection.reports
        read_in_full = any(reports.get(r.name) and reports[r.name].read_in_full for r in results)
        full_refresh = read_in_full or self.options.full
        # dbt's unit tests check the SQL's rules on hand-made rows, not the data: make test
        # runs them, a run leaves them out (they would add seconds to every build).
        flags = ["--exclude-resource-type", "unit_test"]
        flags += ["--full-refresh"] if full_refresh else []
        missing = [
            n
            for n in {**REFERENCE_ENDPOINTS, **LIVE_ENDPOINTS}
            if database.count_rows(RAW_SCHEMA, n) is None
        ]
        if missing:  # a first backfill cut short: build what the loaded tables allow
            say(f"not loaded yet: {', '.join(missing)}; their models wait for a later run")
            flags += ["--exclude", *(f"source:intra.{name}+" for name in missing)]
        since = self.options.build_changed_since
        changed = None if not since else tables_loaded_since(database, since)
        kept: tuple[str, ...] = ()
        if changed and not (full_refresh or missing or outcome.scrubbed):
            kept = kept_summaries(self.options.summaries_due, erased)
            flags += selection_flags(changed, kept)
            say(f"dbt build: only what {', '.join(changed)} changed; the rest is as built")
            if kept:
                say(
                    "dbt build: the summaries stay as published until due "
                    f"(--summaries-every): {', '.join(kept)}"
                )
        outcome.summaries_kept = bool(kept)
        say("dbt build: running (models and tests, into marts__build)")
        outcome.as_of = as_of
        newest_load = database.newest_load_id()
        with self.clock.measure("dbt"):
            outcome.dbt = self.dbt(
                database,
                "build",
                *flags,
                dbt_vars={"cursus_id": connection.cursus_id},
                dbt_env={
                    "INTRA_AS_OF": as_of.isoformat(),
                    # tests of the live tables read only rows not yet published
                    # (macros/tests_on_unpublished_rows.sql); a full refresh tests all
                    "INTRA_TEST_ROWS": "all" if full_refresh else "unpublished",
                    # the volume guard (tests/assert_no_mart_loses_most_of_its_...)
                    **({"INTRA_MAX_MART_SHRINK": "1"} if self.options.accept_shrink else {}),
                },
                log_dir=self.data_dir / "logs",
                target_dir=self.data_dir / "dbt-target",
            )
        say(outcome.dbt.headline() + f" (log: {outcome.dbt.log_path})")
        for warning in unknown_time_zones(database):
            say(f"WARNING {warning}")
        if outcome.dbt.ok:
            publish(database, kept)
            # the copy the next build starts from
            outcome.scrubbed |= erase_anonymized_in_previous_marts(database) > 0
            outcome.published = True
            outcome.published_load_id = newest_load
            say(f"published: schema {MARTS_SCHEMA} now holds this run's tested tables")
        else:
            discard_build(database)
            outcome.problems.extend(p for p in outcome.dbt.problems if not p.startswith("WARN"))
            say(f"NOT published: {MARTS_SCHEMA} keeps its last tested tables (build dropped)")

    def end(self, outcome: Outcome, database: Database, started: float) -> Outcome:
        """Close the outcome with the marts' sizes and timings, and print the report."""
        outcome.marts = {name: database.count_rows(MARTS_SCHEMA, name) for name in MARTS}
        outcome.total_seconds = time.monotonic() - started
        outcome.stages = self.clock.rounded()
        print_report(outcome)
        return outcome
