"""How a run ended: each resource's result and the run's outcome, from which both the report
it prints and its ledger row (``elt.runs``) are made, so that the two always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipelines.config import MARTS_SCHEMA, ExitCode, RunStatus
from pipelines.dbt_runner import DbtResult
from pipelines.intra.api import IntraApi
from pipelines.run.output import say, show
from pipelines.text_table import table

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
    unchanged: int = 0  # of ``fetched``: read again as already loaded, so not loaded
    normalize_workers: int = 0  # processes that normalized its package (0: not reached)
    page_size: int = 0  # records per request at the end (below the setting: pages timed out)
    failed: bool = False  # its load failed: the status says how, the run reports a problem

    @property
    def loaded(self) -> bool:
        """Whether it loaded anything: records not read again unchanged, or deletions."""
        return self.fetched > self.unchanged or self.deleted > 0


def server_errors(result: ResourceResult) -> int:
    return sum(v for k, v in result.outcomes.items() if k.startswith("5"))


@dataclass
class Outcome:
    """What a run did and how it ended: the report and the ledger row are made from it."""

    code: ExitCode = ExitCode.OK
    status: RunStatus = RunStatus.OK
    message: str = ""
    problems: list[str] = field(default_factory=list)
    api: IntraApi | None = None
    results: list[ResourceResult] = field(default_factory=list)
    dbt: DbtResult | None = None
    published: bool = False
    published_load_id: str | None = None  # the newest dlt load in what was published
    scrubbed: bool = False  # the privacy erasure changed raw or the previous marts in place
    summaries_kept: bool = False  # a watch tick left the summaries as published (not due)
    as_of: datetime | None = None  # the API's time the build judged the data at
    marts: dict[str, int | None] = field(default_factory=dict)
    extract_seconds: float = 0.0
    total_seconds: float = 0.0
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    check_path: str = ""  # the preflight's request path (``preflight.check_api``)
    connected: bool = True  # this run obtained its token and checked the API (not a tick)
    reasons: dict[str, str] = field(default_factory=dict)  # why each resource was read

    def problem(self, code: ExitCode, message: str) -> Outcome:
        self.code = code
        self.status = RunStatus.CONFIG if code == ExitCode.CONFIG else RunStatus.FAILED
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
        # A watch tick reuses the token and the check of the watch's start: none is needed.
        needed = 1 if self.connected else 0
        checked = "API and cursus answered" if self.connected else "checked when the watch began"
        rows.append(["(token)", "", "", token_calls, needed, "", "", "", ""])
        rows.append(["(check)", "", "", check_calls, needed, "", "", "", checked])
        rows.append(
            [
                "total",
                sum(r.fetched for r in self.results),
                "",
                sum(r.calls for r in self.results) + token_calls + check_calls,
                sum(r.minimum_calls for r in self.results) + 2 * needed,
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
            "status": self.status.value,
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
                    "unchanged": r.unchanged,
                    "deleted": r.deleted,
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
                "summaries": "kept" if self.summaries_kept else "built",
            }
            if self.dbt
            else None,
            "published": self.published,
            # Recorded after the swap: a run killed in between leaves the older id, and the
            # next build tests more rows than it needs to, never fewer.
            "published_load_id": self.published_load_id,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "reasons": self.reasons,
            "stages": self.stages,
            "seconds": {
                "extract_load": round(self.extract_seconds, 3),
                "dbt": round(self.dbt.seconds, 3) if self.dbt else 0.0,
                "total": round(self.total_seconds, 3),
            },
        }


def print_report(outcome: Outcome) -> None:
    """The end of the run, errors first: what went wrong, then what was done."""
    show()
    if outcome.problems:
        show(f"RESULT: FAILED, {len(outcome.problems)} problem(s)")
        for problem in outcome.problems:
            show(f"  {problem}")
    elif outcome.code == ExitCode.QUOTA:
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
    if outcome.marts:  # none when the run stopped before it touched the database
        rows = [[name, "-" if count is None else count] for name, count in outcome.marts.items()]
        show(f"tables in schema {MARTS_SCHEMA}")
        show("\n".join(table(["table", "rows"], rows)))
    dbt_seconds = outcome.dbt.seconds if outcome.dbt else 0.0
    show(
        f"seconds: extract+load {outcome.extract_seconds:.1f}, dbt {dbt_seconds:.1f}, "
        f"total {outcome.total_seconds:.1f}\n"
    )
    endings = {
        ExitCode.OK: "done: ok",
        ExitCode.QUOTA: "done: stopped early (quota), resume next run",
    }
    say(endings.get(outcome.code, "done: FAILED"))
