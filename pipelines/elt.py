"""``make elt`` (hourly) and ``make elt-full`` (weekly reconciliation): one run, for cron.

1. Take the run lock (a second, overlapping run exits at once with code 75).
2. Resolve the database (configured DSN, or the embedded PostgreSQL) and the API settings
   from dlt's config; a missing setting is named in the error.
3. Extract and load each resource of the ``intra`` source into schema ``raw``, one dlt load
   per resource: reference snapshots first (they define the kept scope), then the live
   resources, incrementally (``--full``: re-read in full, deleting what the API dropped).
   A resource that fails leaves its table exactly as it was while the others still land.
4. Index the raw tables (``raw_indexes``), then erase the personal fields of anonymized
   users in ``raw`` (``privacy``).
5. ``dbt build``: models and their tests (``--full-refresh`` after a reconciliation); an
   error-severity test failure fails the run.
6. Print API calls per resource against the minimum, rows, seconds per stage.

Exit codes: 0 all good; 1 something failed (the summary says what); 2 configuration or
credentials to fix; 3 stopped early because the hourly API quota is spent (what was loaded is
published, the next run resumes where this one stopped); 75 another run holds the lock.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import logging.handlers
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dlt
import psycopg2
import requests
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.extract import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines import ledger
from pipelines.database import Database, DatabaseError, resolve_database
from pipelines.dbt_runner import DbtResult, run_dbt
from pipelines.intra import SnapshotTooSmall, endpoint_request, intra
from pipelines.intra.api import IntraApi
from pipelines.intra.auth import InvalidCredentials
from pipelines.intra.errors import describe_refusal
from pipelines.intra.rate_limit import QuotaExhausted
from pipelines.intra.settings import (
    BY_ID_ENDPOINTS,
    DEFAULT_BASE_URL,
    DEFAULT_CURSUS_ID,
    LIVE_ENDPOINTS,
    REFERENCE_ENDPOINTS,
)
from pipelines.preflight import (
    ApiUnreachable,
    ConfigError,
    check_api,
    parse_base_url,
    parse_cursus_id,
)
from pipelines.privacy import erase_anonymized
from pipelines.progress import ProgressHandler
from pipelines.publish import discard_build, publish
from pipelines.raw_indexes import create_raw_indexes
from pipelines.report import table
from pipelines.run_lock import AlreadyRunning, RunLock
from pipelines.stages import StageClock

# dlt writes load files as CSV, which PostgreSQL ingests with COPY: about 40% less load time and
# 30% less memory than the default INSERT ... VALUES files (make bench, scale small).
LOADER_FILE_FORMAT = "csv"
# A package extracted into several files (``[sources.data_writer] file_max_items`` in
# .dlt/config.toml) is normalized by this many processes, one per core of the 2-core host:
# the API waits while a resource's package is normalized, so this is time the quota loses.
NORMALIZE_WORKERS = 2

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_QUOTA, EXIT_BUSY = 0, 1, 2, 3, 75
PIPELINE_NAME = "intra"
RUN_LOG = "intra.elt"  # the logger behind <data dir>/logs/elt.log
RAW_SCHEMA = "raw"
MARTS_SCHEMA = "marts"
# By-id resources last: they complete, into the live tables, what the live resources implied.
RESOURCES = {**REFERENCE_ENDPOINTS, **LIVE_ENDPOINTS, **BY_ID_ENDPOINTS}
MARTS = (
    "cursus",
    "campuses",
    "projects",
    "campus_projects",
    "project_sessions",
    "coalitions",
    "achievements",
    "campus_achievements",
    "users",
    "cursus_users",
    "projects_users",
    "achievements_users",
    "coalitions_users",
)


def say(message: str) -> None:
    """One timestamped line on stdout: readable in a terminal and in cron mail alike."""
    show(f"{datetime.now(UTC).strftime('%H:%M:%S')} {message}")


def show(line: str = "") -> None:
    """A line on stdout that also goes to the run's log file (``log_to_file``), so a run
    can be read afterwards whatever cron did with its output."""
    print(line, flush=True)
    logging.getLogger(RUN_LOG).info(line)


@contextlib.contextmanager
def log_to_file(data_dir: Path):
    """Copy what the run prints into ``<data_dir>/logs/elt.log``, rotated (5 files of 5 MB);
    each run starts with a line giving its date. The live progress line is not copied."""
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        data_dir / "logs" / "elt.log", maxBytes=5_000_000, backupCount=4, encoding="utf-8"
    )
    log = logging.getLogger(RUN_LOG)
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    log.info(f"--- run started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, pid {os.getpid()}")
    try:
        yield
    finally:
        log.removeHandler(handler)
        handler.close()


@dataclass
class ResourceResult:
    name: str
    status: str  # "ok", or what went wrong
    fetched: int  # records read from the API this run
    table_rows: int | None  # rows in the raw table after the run
    minimum_calls: int  # the fewest calls that could have read them
    calls: int
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    deleted: int = 0
    normalize_workers: int = 0  # processes that normalized its package (0: not reached)
    page_size: int = 0  # records per request at the end (below the setting: pages timed out)


def find_cause(error: BaseException, *types: type[BaseException]) -> BaseException | None:
    """The first exception of ``types`` in an exception's cause/context chain."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, types):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception of a chain (dlt wraps resource errors twice)."""
    seen = set()
    while id(error) not in seen and (error.__cause__ or error.__context__) is not None:
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return error


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def source_setting(key: str, default):
    value = dlt.config.get(f"sources.intra.{key}")
    return default if value in (None, "") else value


def normalize_workers(pipeline) -> int:
    """Worker processes for the extracted packages: one per data file, up to NORMALIZE_WORKERS.
    dlt would start a process pool even for a single file, which only costs time."""
    files = sum(
        not job.job_file_info.table_name.startswith("_dlt")
        for load_id in pipeline.list_extracted_load_packages()
        for job in pipeline.get_load_package_info(load_id).jobs["new_jobs"]
    )
    return max(1, min(NORMALIZE_WORKERS, files))


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
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.elt", description=__doc__.split("\n")[0]
    )
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
        return EXIT_BUSY


class Run:
    """One ELT run, from settings to summary."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir: Path = args.data_dir
        self.progress = ProgressHandler(warn=say)
        self.clock = StageClock()
        progress_log = logging.getLogger("intra.progress")
        progress_log.addHandler(self.progress)
        progress_log.setLevel(logging.INFO)
        progress_log.propagate = False
        logging.getLogger("pgserver").setLevel(logging.WARNING)

    def execute(self) -> int:
        started = time.monotonic()
        try:
            database = resolve_database(self.data_dir)
            with database.connect():
                pass
        except DatabaseError as error:
            say(f"ERROR database: {error}")
            return EXIT_CONFIG
        mode = "reconcile" if self.args.full else "incremental"
        if self.newest_load_id(database) is None:  # nothing loaded yet: it reads everything
            mode = "backfill"
        run_id = ledger.start(database, mode)
        try:
            outcome = self.run(database, mode, started)
        except (DatabaseError, psycopg2.Error) as error:
            # The database went away mid-run: every step commits on its own, so what is not
            # done is simply not there; the next run redoes it.
            message = f"database unreachable: {describe_error(root_cause(error))}"
            say(f"ERROR {message}")
            say("the run stops here; nothing half-written is published; rerun when it is back")
            with contextlib.suppress(DatabaseError, psycopg2.Error):
                ledger.finish(database, run_id, status="failed", message=message)
            say("done: FAILED")
            return EXIT_FAILED
        except Exception as error:  # anything unforeseen still ends in the ledger
            message = describe_error(root_cause(error))
            with contextlib.suppress(DatabaseError, psycopg2.Error):
                ledger.finish(database, run_id, status="failed", message=message)
            raise
        ledger.finish(database, run_id, **outcome.ledger())
        return outcome.code

    def run(self, database: Database, mode: str, started: float) -> Outcome:
        outcome = Outcome()
        source, api, cursus_id = self.connect_api(outcome)
        if api is None:
            return self.end(outcome, database, started)
        say(f"start: {mode} run, cursus {cursus_id}, API {api.base_url}, {database.describe()}")

        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            destination=dlt.destinations.postgres(credentials=database.dsn),
            dataset_name=RAW_SCHEMA,
            pipelines_dir=str(self.data_dir / "dlt"),
        )
        extract_started = time.monotonic()
        results, fatal, stopped = self.extract_load(pipeline, source, api, cursus_id, database)
        outcome.results = results
        for r in results:
            if not r.status.startswith("ok"):
                outcome.problems.append(f"{r.name}: {r.status}")
        if fatal:
            outcome.problem(
                EXIT_CONFIG if isinstance(fatal, InvalidCredentials) else EXIT_FAILED, str(fatal)
            )
            say(f"ERROR {fatal}")
            say("nothing more is extracted and dbt does not run: the marts stay as they were")
        else:
            as_of = api.server_now()
            create_raw_indexes(database)  # what the erasure and dbt's incremental reads use
            erased = erase_anonymized(database, as_of)
            if erased:
                say(
                    "erased anonymized users' personal fields in raw: "
                    + ", ".join(f"{k} {v}" for k, v in erased.items())
                )
        outcome.extract_seconds = time.monotonic() - extract_started

        if fatal:
            pass
        elif self.args.skip_dbt:
            say("dbt skipped (--skip-dbt); nothing published")
        else:
            reconciled = any(
                api.reports.get(r.name) and api.reports[r.name].reconciled for r in results
            )
            full_refresh = reconciled or self.args.full
            flags = ["--full-refresh"] if full_refresh else []
            missing = [
                n
                for n in {**REFERENCE_ENDPOINTS, **LIVE_ENDPOINTS}
                if self.count_rows(database, RAW_SCHEMA, n) is None
            ]
            if missing:  # a first backfill cut short: build what the loaded tables allow
                say(f"not loaded yet: {', '.join(missing)}; their models wait for a later run")
                flags += ["--exclude", *(f"source:intra.{name}+" for name in missing)]
            say("dbt build: running (models and tests, into marts__build)")
            newest_load = self.newest_load_id(database)
            with self.clock.measure("dbt"):
                outcome.dbt = run_dbt(
                    database,
                    "build",
                    *flags,
                    dbt_vars={"cursus_id": cursus_id},
                    dbt_env={
                        "INTRA_AS_OF": as_of.isoformat(),
                        # tests of the live tables read only rows not yet published
                        # (macros/tests_on_unpublished_rows.sql); a full refresh tests all
                        "INTRA_TEST_ROWS": "all" if full_refresh else "unpublished",
                        # the volume guard (tests/assert_no_mart_loses_most_of_its_...)
                        **({"INTRA_MAX_MART_SHRINK": "1"} if self.args.accept_shrink else {}),
                    },
                    log_dir=self.data_dir / "logs",
                    target_dir=self.data_dir / "dbt-target",
                )
            say(outcome.dbt.headline() + f" (log: {outcome.dbt.log_path})")
            if outcome.dbt.ok:
                publish(database)
                outcome.published = True
                outcome.published_load_id = newest_load
                say(f"published: schema {MARTS_SCHEMA} now holds this run's tested tables")
            else:
                discard_build(database)
                outcome.problems.extend(p for p in outcome.dbt.problems if not p.startswith("WARN"))
                say(f"NOT published: {MARTS_SCHEMA} keeps its last tested tables (build dropped)")

        if not outcome.problems and stopped:
            outcome.code = EXIT_QUOTA
            outcome.status = "quota"
            outcome.message = f"stopped early: {stopped}; what was loaded is published"
        elif outcome.problems and outcome.code == EXIT_OK:
            outcome.code, outcome.status = EXIT_FAILED, "failed"
        return self.end(outcome, database, started)

    def connect_api(self, outcome: Outcome) -> tuple[DltSource | None, IntraApi | None, int]:
        """Settings parsed and the API checked before anything is loaded (``preflight``):
        the source and its API client, or Nones with the problem recorded in ``outcome``."""
        try:
            base_url = parse_base_url(source_setting("base_url", DEFAULT_BASE_URL))
            cursus_id = parse_cursus_id(source_setting("cursus_id", DEFAULT_CURSUS_ID))
            source = intra(base_url=base_url, cursus_id=cursus_id, reconcile=self.args.full)
        except ConfigFieldMissingException as missing:
            fields = ", ".join(f"sources.intra.{f}" for f in missing.fields)
            envs = ", ".join(f"SOURCES__INTRA__{f.upper()}" for f in missing.fields)
            outcome.problem(
                EXIT_CONFIG,
                f"missing setting(s) {fields}: put them in .dlt/secrets.toml or set {envs}",
            )
            return None, None, 0
        except ConfigValueCannotBeCoercedException as bad:
            key = bad.field_name
            outcome.problem(
                EXIT_CONFIG,
                f"setting sources.intra.{key} = {bad.field_value!r} is not a valid {bad.hint}: "
                f"fix it in .dlt/config.toml or SOURCES__INTRA__{key.upper()}",
            )
            return None, None, 0
        except (ConfigError, ValueError) as error:  # ValueError: the source's own checks
            outcome.problem(EXIT_CONFIG, str(error))
            return None, None, 0
        api = next(a for a in IntraApi.instances() if a.base_url == base_url)
        outcome.api = api
        outcome.check_path = api.url_path(f"cursus/{cursus_id}")
        try:
            check_api(api, cursus_id)
        except (ConfigError, InvalidCredentials) as error:
            outcome.problem(EXIT_CONFIG, str(error))
        except (ApiUnreachable, requests.RequestException) as error:
            outcome.problem(EXIT_FAILED, f"the API is not answering: {describe_error(error)}")
        if outcome.problems:
            say("nothing was extracted and dbt does not run: the marts stay as they were")
            return None, None, cursus_id
        return source, api, cursus_id

    def end(self, outcome: Outcome, database: Database, started: float) -> Outcome:
        """Close the outcome with the marts' sizes and timings, and print the report."""
        outcome.marts = {name: self.count_rows(database, MARTS_SCHEMA, name) for name in MARTS}
        outcome.total_seconds = time.monotonic() - started
        outcome.stages = self.clock.rounded()
        self.print_report(outcome)
        return outcome

    def extract_load(self, pipeline, source, api: IntraApi, cursus_id: int, database: Database):
        """One dlt load per resource; returns the results, a fatal error and a quota stop."""
        if pipeline.has_pending_data:
            # A previous run died after extracting a resource completely but before loading
            # it. Those packages are complete; load them now (dlt would otherwise load them
            # in place of the next resource's extraction).
            say("loading the packages a previous, interrupted run had extracted")
            try:
                with self.clock.measure("normalize"):
                    pipeline.normalize(workers=normalize_workers(pipeline))
                with self.clock.measure("load"):
                    pipeline.load()
            except PipelineStepFailed as error:
                self.discard_pending(pipeline, "the interrupted run's packages", error)
        if pipeline.config.restore_from_destination:
            pipeline.sync_destination()  # as pipeline.run would: state from the database if newer
        results: list[ResourceResult] = []
        for name in self.args.resources:
            path = api.url_path(endpoint_request(RESOURCES[name], cursus_id)[0])
            calls_before, outcomes_before = api.stats.calls(path), api.stats.outcomes(path)
            started = time.monotonic()
            status, fatal, stopped, workers = "ok", None, None, 0
            try:
                workers = self.load_resource(pipeline, source.with_resources(name))
            except PipelineStepFailed as error:
                fatal = find_cause(error, InvalidCredentials)
                stopped = find_cause(error, QuotaExhausted)
                cause = fatal or stopped or find_cause(error, SnapshotTooSmall) or root_cause(error)
                status = f"failed in {error.step}: {describe_error(cause)}"
                http_error = find_cause(error, requests.HTTPError)
                refusal = describe_refusal(http_error) if http_error is not None else None
                if refusal:  # not transient: say which parameter, in the API's words
                    status = f"failed in {error.step}: {refusal}; its state did not advance"
                if error.step != "extract":
                    self.discard_pending(pipeline, name, error)
            self.progress.clear()
            report = api.reports.get(name) if name not in REFERENCE_ENDPOINTS else None
            if report is not None and report.stopped:
                stopped = report.stopped
                status = "ok, stopped early (quota); resumes next run"
            result = self.result(
                name, status, report, api, path, calls_before, outcomes_before, database
            )
            result.seconds = time.monotonic() - started
            result.normalize_workers = workers
            results.append(result)
            if fatal:
                result.status = f"stopped: {type(fatal).__name__}"
                return results, fatal, None
            deleted = f", {result.deleted} deleted" if result.deleted else ""
            flag = "" if status.startswith("ok") else "ERROR "
            say(
                f"{flag}{name}: {result.status}, {result.fetched} records read{deleted}, "
                f"{result.calls} calls (minimum {result.minimum_calls}), {result.seconds:.1f} s"
            )
            for warning in report.warnings if report is not None else []:
                say(f"WARNING {name}: {warning}")
            if stopped:
                say(f"{stopped}; the remaining resources wait for the next run")
                return results, None, stopped
        return results, None, None

    def load_resource(self, pipeline, source) -> int:
        """``pipeline.run`` step by step, each step timed on the run's stage clock; returns
        how many processes normalized the package."""
        with self.clock.measure("extract"):
            pipeline.extract(source, loader_file_format=LOADER_FILE_FORMAT)
        workers = normalize_workers(pipeline)
        with self.clock.measure("normalize"):
            pipeline.normalize(workers=workers)
        with self.clock.measure("load"):
            pipeline.load()
        return workers

    @staticmethod
    def discard_pending(pipeline, what: str, error: PipelineStepFailed) -> None:
        """A package that cannot be loaded is dropped, and the local dlt state rewound to
        before it: its resource reads the same data again next run. Left pending, it would be
        retried first by every later load and block them all."""
        with contextlib.suppress(Exception):  # the database may be gone: the next run retries
            pipeline.abort_packages()
        say(f"{what}: could not be loaded ({describe_error(root_cause(error))}); discarded")

    def result(
        self, name, status, report, api, path, calls_before, outcomes_before, database
    ) -> ResourceResult:
        outcomes = {
            k: v - outcomes_before.get(k, 0)
            for k, v in api.stats.outcomes(path).items()
            if v - outcomes_before.get(k, 0)
        }
        table_rows = self.count_rows(database, RAW_SCHEMA, RESOURCES[name].table or name)
        if report is not None:  # live: each scan costs at least one call
            fetched = report.records
            minimum = sum(max(1, math.ceil(n / api.page_size)) for n in report.scan_records)
        else:  # snapshot: the whole table, read once
            fetched = (table_rows or 0) if status == "ok" else 0
            minimum = max(1, math.ceil(fetched / api.page_size))
        page_size = api.page_size_of(name)
        if page_size < api.page_size:
            status += f"; page size cut to {page_size} (pages of {api.page_size} timed out)"
        return ResourceResult(
            name=name,
            status=status,
            fetched=fetched,
            table_rows=table_rows,
            minimum_calls=minimum,
            calls=api.stats.calls(path) - calls_before,
            outcomes=outcomes,
            deleted=report.deleted if report is not None else 0,
            page_size=page_size,
        )

    @staticmethod
    def query_table(database: Database, schema: str, table_name: str, sql: str):
        """The one value ``sql`` returns from ``schema.table_name`` (``{table}`` in it), or
        None when that table does not exist yet."""
        with database.connect() as connection, connection.cursor() as cursor:
            cursor.execute("select to_regclass(%s)", (f"{schema}.{table_name}",))
            if cursor.fetchone()[0] is None:
                return None
            cursor.execute(sql.format(table=f'"{schema}"."{table_name}"'))
            return cursor.fetchone()[0]

    def newest_load_id(self, database: Database) -> str | None:
        """The newest completed dlt load: what this run's dbt build processes up to."""
        sql = "select max(load_id) from {table} where status = 0"
        return self.query_table(database, RAW_SCHEMA, "_dlt_loads", sql)

    def count_rows(self, database: Database, schema: str, table_name: str) -> int | None:
        return self.query_table(database, schema, table_name, "select count(*) from {table}")

    def print_report(self, outcome: Outcome) -> None:
        """The end of the run, errors first: what went wrong, then what was done."""
        show()
        if outcome.problems:
            show(f"RESULT: FAILED, {len(outcome.problems)} problem(s)")
            for problem in outcome.problems:
                show(f"  {problem}")
        elif outcome.code == EXIT_QUOTA:
            show(f"RESULT: {outcome.message}")
        else:
            show("RESULT: ok" + (", published" if outcome.published else ""))
        if outcome.api is not None and outcome.results:
            show(f"\nextract + load from {outcome.api.base_url}")
            show("\n".join(table(RESOURCE_HEADER, outcome.resource_rows())))
        if outcome.dbt is not None:
            show(outcome.dbt.headline())
            for problem in outcome.dbt.problems[:20]:
                show(f"  {problem}")
        rows = [[name, "-" if count is None else count] for name, count in outcome.marts.items()]
        show(f"tables in schema {MARTS_SCHEMA}")
        show("\n".join(table(["table", "rows"], rows)))
        dbt_seconds = outcome.dbt.seconds if outcome.dbt else 0.0
        show(
            f"seconds: extract+load {outcome.extract_seconds:.1f}, dbt {dbt_seconds:.1f}, "
            f"total {outcome.total_seconds:.1f}\n"
        )
        say(
            {EXIT_OK: "done: ok", EXIT_QUOTA: "done: stopped early (quota), resume next run"}.get(
                outcome.code, "done: FAILED"
            )
        )


RESOURCE_HEADER = [
    "resource",
    "read",
    "in raw",
    "calls",
    "minimum",
    "429",
    "5xx",
    "seconds",
    "status",
]


@dataclass
class Outcome:
    """What a run did and how it ended: the report and the ledger row are made from it."""

    code: int = EXIT_OK
    status: str = "ok"
    message: str = ""
    problems: list[str] = field(default_factory=list)
    api: IntraApi | None = None
    results: list[ResourceResult] = field(default_factory=list)
    dbt: DbtResult | None = None
    published: bool = False
    published_load_id: str | None = None  # the newest dlt load in what was published
    marts: dict[str, int | None] = field(default_factory=dict)
    extract_seconds: float = 0.0
    total_seconds: float = 0.0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    check_path: str = ""  # the preflight's request path (``preflight.check_api``)

    def problem(self, code: int, message: str) -> Outcome:
        self.code = code
        self.status = "config" if code == EXIT_CONFIG else "failed"
        self.problems.append(message)
        say(f"ERROR {message}")
        return self

    def resource_rows(self) -> list[list]:
        rows = [
            [
                r.name,
                r.fetched,
                "-" if r.table_rows is None else r.table_rows,
                r.calls,
                r.minimum_calls,
                r.outcomes.get("429", 0),
                server_errors(r),
                f"{r.seconds:.1f}",
                r.status,
            ]
            for r in self.results
        ]
        token_calls = self.api.stats.calls("/oauth/token")
        check_calls = self.api.stats.calls(self.check_path)
        rows.append(["(token)", "", "", token_calls, 1, "", "", "", ""])
        rows.append(["(check)", "", "", check_calls, 1, "", "", "", "API and cursus answered"])
        rows.append(
            [
                "total",
                sum(r.fetched for r in self.results),
                "",
                sum(r.calls for r in self.results) + token_calls + check_calls,
                sum(r.minimum_calls for r in self.results) + 2,
                self.api.stats.total("429"),
                sum(server_errors(r) for r in self.results),
                f"{self.extract_seconds:.1f}",
                "",
            ]
        )
        return rows

    def ledger(self) -> dict:
        stats = self.api.stats if self.api else None
        return {
            "status": self.status,
            "message": "; ".join(self.problems)[:2000] or self.message,
            "api_calls": stats.calls() if stats else 0,
            "api_429": stats.total("429") if stats else 0,
            "api_retries": (
                stats.total("429")
                + stats.total("error")
                + sum(stats.total(f"5{n:02d}") for n in range(100))
            )
            if stats
            else 0,
            "resources": {
                r.name: {
                    "status": r.status,
                    "read": r.fetched,
                    "calls": r.calls,
                    "rows": r.table_rows,
                    "minimum_calls": r.minimum_calls,
                    "seconds": round(r.seconds, 3),
                    "normalize_workers": r.normalize_workers,
                    "page_size": r.page_size,
                }
                for r in self.results
            },
            "marts": self.marts,
            "dbt": {
                "ok": self.dbt.ok,
                "statuses": dict(self.dbt.statuses),
                "problems": self.dbt.problems[:50],
            }
            if self.dbt
            else None,
            "published": self.published,
            # Recorded after the swap: a run killed in between leaves the older id, and the
            # next build tests more rows than it needs to, never fewer.
            "published_load_id": self.published_load_id,
            "stages": self.stages,
            "seconds": {
                "extract_load": round(self.extract_seconds, 3),
                "dbt": round(self.dbt.seconds, 3) if self.dbt else 0.0,
                "total": round(self.total_seconds, 3),
            },
        }


def server_errors(result: ResourceResult) -> int:
    return sum(v for k, v in result.outcomes.items() if k.startswith("5"))


if __name__ == "__main__":
    sys.exit(main())
