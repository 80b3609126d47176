"""Extract and load, one dlt load per resource: ``pipeline.run`` taken step by step, so that
each step is timed on the run's stage clock, a resource that fails leaves its table as it was
while the next still loads, and each resource's calls, rows and status are measured."""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time

import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.config import RAW_SCHEMA, RESOURCES
from pipelines.database import Database
from pipelines.intra import SnapshotTooSmall, endpoint_request
from pipelines.intra.auth import InvalidCredentials
from pipelines.intra.errors import describe_refusal
from pipelines.intra.locations import PER_CAMPUS
from pipelines.intra.rate_limit import QuotaExhausted
from pipelines.intra.settings import REFERENCE_ENDPOINTS
from pipelines.run.connect import Connection
from pipelines.run.errors import describe_error, find_cause, root_cause
from pipelines.run.outcome import ResourceResult
from pipelines.run.output import say
from pipelines.run.progress import ProgressHandler
from pipelines.run.stages import StageClock

# dlt writes load files as CSV, which PostgreSQL ingests with COPY: less load time and memory
# than the default INSERT ... VALUES files (measured in docs/performance.md).
LOADER_FILE_FORMAT = "csv"
# A package extracted into several files (``[sources.data_writer] file_max_items`` in
# .dlt/config.toml) is normalized by this many processes, one per core of the 2-core host:
# the API waits while a resource's package is normalized, so this is time the quota loses.
NORMALIZE_WORKERS = 2
STOP_REQUESTED = "stop requested"  # ExtractLoad.run's early stop when asked to end


def normalize_workers(pipeline) -> int:
    """Worker processes for the extracted packages: one per data file, up to NORMALIZE_WORKERS.
    dlt would start a process pool even for a single file, which only costs time."""
    files = sum(
        not job.job_file_info.table_name.startswith("_dlt")
        for load_id in pipeline.list_extracted_load_packages()
        for job in pipeline.get_load_package_info(load_id).jobs["new_jobs"]
    )
    return max(1, min(NORMALIZE_WORKERS, files))


def resource_paths(api, endpoint, cursus_id: int) -> str | re.Pattern:
    """The request path(s) of a resource, whose calls count as its own: its endpoint's, and
    its fallback's for every campus (locations read per campus)."""
    path = api.url_path(endpoint_request(endpoint, cursus_id)[0])
    if endpoint.fallback_path is None:
        return path
    fallback = api.url_path(endpoint.fallback_path.format(campus_id="0"))
    pattern = re.escape(fallback).replace("/0/", "/[0-9]+/")
    return re.compile(f"{re.escape(path)}|{pattern}")


def discard_pending(pipeline, what: str, error: PipelineStepFailed) -> None:
    """A package that cannot be loaded is dropped, and the local dlt state rewound to before
    it: its resource reads the same data again next run. Left pending, it would be retried
    first by every later load and block them all."""
    with contextlib.suppress(Exception):  # the database may be gone: the next run retries
        pipeline.abort_packages()
    say(f"{what}: could not be loaded ({describe_error(root_cause(error))}); discarded")


class ExtractLoad:
    """The resources of one run, loaded one after the other into ``raw``."""

    def __init__(
        self,
        pipeline,
        connection: Connection,
        database: Database,
        clock: StageClock,
        progress: ProgressHandler,
    ) -> None:
        self.pipeline = pipeline
        self.connection = connection
        self.database = database
        self.clock = clock
        self.progress = progress

    def run(self, names: list[str], stop: threading.Event | None = None):
        """One dlt load per resource; returns the results, a fatal error and an early stop
        (the quota spent, or ``stop`` set: SIGTERM on a watch, checked between resources)."""
        pipeline, api = self.pipeline, self.connection.api
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
                discard_pending(pipeline, "the interrupted run's packages", error)
        if pipeline.config.restore_from_destination:
            pipeline.sync_destination()  # as pipeline.run would: state from the database if newer
        results: list[ResourceResult] = []
        for name in names:
            if stop is not None and stop.is_set():
                say("stop requested (SIGTERM): the remaining resources wait for the next tick")
                return results, None, STOP_REQUESTED
            path = resource_paths(api, RESOURCES[name], self.connection.cursus_id)
            calls_before, outcomes_before = api.stats.calls(path), api.stats.outcomes(path)
            started = time.monotonic()
            status, failed, fatal, stopped, workers = "ok", False, None, None, 0
            try:
                workers = self.load_resource(self.connection.source.with_resources(name))
            except PipelineStepFailed as error:
                fatal = find_cause(error, InvalidCredentials)
                stopped = find_cause(error, QuotaExhausted)
                cause = fatal or stopped or find_cause(error, SnapshotTooSmall) or root_cause(error)
                status, failed = f"failed in {error.step}: {describe_error(cause)}", True
                http_error = find_cause(error, requests.HTTPError)
                refusal = describe_refusal(http_error) if http_error is not None else None
                if refusal:  # not transient: say which parameter, in the API's words
                    status = f"failed in {error.step}: {refusal}; its state did not advance"
                if error.step != "extract":
                    discard_pending(pipeline, name, error)
            self.progress.clear()
            reports = self.connection.reports
            report = reports.get(name) if name not in REFERENCE_ENDPOINTS else None
            if report is not None and report.stopped:
                stopped = report.stopped
                status, failed = "ok, stopped early (quota); resumes next run", False
            result = self.result(name, status, report, path, calls_before, outcomes_before)
            result.failed = failed
            result.seconds = time.monotonic() - started
            result.normalize_workers = workers
            results.append(result)
            if fatal:
                result.status, result.failed = f"stopped: {type(fatal).__name__}", True
                return results, fatal, None
            deleted = f", {result.deleted} deleted" if result.deleted else ""
            if result.unchanged:
                deleted += f", {result.unchanged} of them unchanged (not loaded again)"
            flag = "ERROR " if failed else ""
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

    def load_resource(self, source) -> int:
        """``pipeline.run`` step by step, each step timed on the run's stage clock; returns
        how many processes normalized the package."""
        with self.clock.measure("extract"):
            self.pipeline.extract(source, loader_file_format=LOADER_FILE_FORMAT)
        workers = normalize_workers(self.pipeline)
        with self.clock.measure("normalize"):
            self.pipeline.normalize(workers=workers)
        with self.clock.measure("load"):
            self.pipeline.load()
        return workers

    def result(self, name, status, report, path, calls_before, outcomes_before) -> ResourceResult:
        api = self.connection.api
        outcomes = {
            k: v - outcomes_before.get(k, 0)
            for k, v in api.stats.outcomes(path).items()
            if v - outcomes_before.get(k, 0)
        }
        table_rows = self.database.count_rows(RAW_SCHEMA, RESOURCES[name].table or name)
        if report is not None:  # live: each scan costs at least one call
            fetched = report.records
            minimum = sum(max(1, math.ceil(n / api.page_size)) for n in report.scan_records)
        else:  # snapshot: the whole table, read once
            fetched = (table_rows or 0) if status == "ok" else 0
            minimum = max(1, math.ceil(fetched / api.page_size))
        page_size = api.page_size_of(name)
        if report is not None and report.listing == PER_CAMPUS:
            status += "; read per campus (the API refused one listing for every campus)"
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
            unchanged=report.unchanged if report is not None else 0,
            page_size=page_size,
        )
