"""Running dbt against the same database as dlt.

``run_dbt``: dbt runs as its own process, exactly as a user would run it by hand, with the
connection passed through the variables ``dbt_project/profiles.yml`` reads (see
``Database.dbt_env``). ``KeptDbt``: the same command in this process, its parsed project kept
between calls (a long-lived watch). Either way dbt's output goes to a log file and the caller
gets the outcome per node from ``run_results.json``, to print a short summary, failures first.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR
from pipelines.database import Database


@dataclass
class DbtResult:
    command: str
    returncode: int
    seconds: float
    log_path: Path
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # "<status> <node>: <message>"

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def headline(self) -> str:
        order = ("pass", "success", "warn", "error", "fail", "skipped")
        counts = ", ".join(f"{k}={self.statuses[k]}" for k in order if self.statuses.get(k))
        outcome = "ok" if self.ok else "FAILED"
        return f"dbt {self.command}: {outcome} ({counts or 'no nodes'}) in {self.seconds:.1f} s"


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_argv(
    command: list[str] | tuple[str, ...],
    log_dir: Path,
    target_dir: Path | None,
    dbt_vars: dict | None = None,
) -> list[str]:
    """``dbt <command>`` on this project, its logs and (unless None) its target folder where
    the caller says: the command line the ELT and dbt by hand share."""
    argv = [dbt_executable(), *command, "--project-dir", str(DBT_PROJECT_DIR)]
    argv += ["--profiles-dir", str(DBT_PROJECT_DIR), "--log-path", str(log_dir)]
    if target_dir is not None:
        argv += ["--target-path", str(target_dir)]
    if dbt_vars:
        argv += ["--vars", json.dumps(dbt_vars)]
    return argv


def dbt_environment(database: Database, extra: dict | None = None) -> dict[str, str]:
    """The environment dbt runs in: the connection ``profiles.yml`` reads, no telemetry."""
    return {
        **os.environ,
        **database.dbt_env(),
        **(extra or {}),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def run_dbt(
    database: Database,
    *command: str,
    dbt_vars: dict | None = None,
    dbt_env: dict | None = None,
    log_dir: Path,
    target_dir: Path | None = None,
) -> DbtResult:
    """Run ``dbt <command...>`` (e.g. ``"build"`` or ``"docs", "generate"``) as its own
    process; never raises for dbt failures: the result says what happened."""
    call = DbtCall(command, log_dir, target_dir, dbt_vars)
    env = dbt_environment(database, dbt_env)
    started = time.monotonic()
    with open(call.log_path, "w") as log:
        completed = subprocess.run(
            call.argv(), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=DBT_PROJECT_DIR
        )
    return call.result(completed.returncode, time.monotonic() - started)


@dataclass
class DbtCall:
    """One ``dbt <command>``: its command line, its log file and how to read its outcome."""

    command: tuple[str, ...]
    log_dir: Path
    target_dir: Path | None
    dbt_vars: dict | None

    def __post_init__(self) -> None:
        # dbt runs in the project folder: relative paths would land under dbt_project/.
        self.log_dir = self.log_dir.resolve()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # A target folder per data directory keeps dbt's partial-parse cache and run results
        # apart from other deployments (and tests) sharing the project folder.
        self.target = (self.target_dir or DBT_PROJECT_DIR / "target").resolve()
        first_flag = next(
            (i for i, part in enumerate(self.command) if part.startswith("-")), len(self.command)
        )
        self.words = list(self.command[:first_flag])
        self.log_path = self.log_dir / f"dbt-{'-'.join(self.words)}.log"

    def argv(self) -> list[str]:
        argv = dbt_argv(self.command, self.log_dir, self.target, self.dbt_vars)
        # dbt's own debug log (every query of every node) cost a tenth of a build's time; its
        # console output, kept in log_path above, says what ran and what failed.
        return [*argv, "--log-level-file", "warn"]

    def result(self, returncode: int, seconds: float) -> DbtResult:
        result = DbtResult(" ".join(self.words), returncode, seconds, self.log_path)
        results_file = self.target / "run_results.json"
        if results_file.exists() and results_file.stat().st_mtime >= time.time() - seconds - 1:
            for node in json.loads(results_file.read_text()).get("results", []):
                status = str(node.get("status"))
                result.statuses[status] += 1
                if status in ("error", "fail", "warn"):
                    name = node.get("unique_id", "?").split(".", 2)[-1]
                    message = (node.get("message") or "").strip().splitlines()
                    result.problems.append(
                        f"{status.upper()} {name}: {message[0] if message else ''}"
                    )
        if not result.ok and not result.problems:
            tail = self.log_path.read_text().strip().splitlines()[-5:]
            result.problems.extend(tail)
        result.problems.sort(key=lambda p: not p.startswith(("ERROR", "FAIL")))
        return result


class KeptDbt:
    """``run_dbt`` in this process, for a long-lived watch: a dbt process pays about 6 s
    before any SQL (its imports, then reading the parsed project), every tick. This pays
    the imports once and keeps the parsed project (dbt's documented ``dbtRunner(manifest=)``),
    parsing again only when a file of the project or the vars change. Not thread-safe (nor
    is dbt in one process): one call at a time."""

    def __init__(self) -> None:
        self.manifest = None
        self.parsed_for: tuple | None = None  # (the project's files, the vars) when parsed
        self.parses = 0  # how many times it parsed the project

    def is_current(self) -> bool:
        """Whether the kept parse is of the project's files as they are now."""
        return self.manifest is not None and self.parsed_for[0] == project_files()

    def __call__(
        self,
        database: Database,
        *command: str,
        dbt_vars: dict | None = None,
        dbt_env: dict | None = None,
        log_dir: Path,
        target_dir: Path | None = None,
    ) -> DbtResult:
        from dbt.cli.main import dbtRunner  # seconds of imports: only a watch pays them

        call = DbtCall(command, log_dir, target_dir, dbt_vars)
        started = time.monotonic()
        with open(call.log_path, "w") as log, environment(dbt_environment(database, dbt_env)):

            def write(event) -> None:  # what the dbt command prints, into the log file
                if event.info.level in ("info", "warn", "error") and event.info.msg:
                    log.write(f"{event.info.ts.ToDatetime():%H:%M:%S}  {event.info.msg}\n")

            # dbt's console output off (--log-level none): the callback has every event.
            quiet = ["--log-level", "none", "--log-level-file", "warn"]
            state = (project_files(), json.dumps(dbt_vars, sort_keys=True))
            if self.manifest is None or state != self.parsed_for:
                parse = dbt_argv(["parse"], call.log_dir, call.target, dbt_vars)[1:]
                log.write("parsing the project (the first build, or its files changed)\n")
                parsed = dbtRunner(callbacks=[write]).invoke([*parse, *quiet])
                self.manifest = parsed.result if parsed.success else None
                self.parsed_for = state
                self.parses += 1
            else:
                log.write("the project is as parsed before: the parsed project is kept\n")
            if self.manifest is None:
                log.write(f"dbt parse failed: {parsed.exception!r}\n")
                returncode = 2
            else:
                argv = dbt_argv(command, call.log_dir, call.target, dbt_vars)[1:]
                runner = dbtRunner(manifest=self.manifest, callbacks=[write])
                outcome = runner.invoke([*argv, *quiet])
                if outcome.exception is not None:
                    log.write(f"dbt failed: {outcome.exception!r}\n")
                returncode = 0 if outcome.success else 1 if outcome.exception is None else 2
        return call.result(returncode, time.monotonic() - started)


def project_files() -> tuple:
    """Every file of the dbt project with its size and time of change, what dbt parses
    (its own output folders aside): when this changes, the kept manifest is stale."""
    skip = {"target", "logs", "dbt_packages"}
    files = []
    for folder, subfolders, names in os.walk(DBT_PROJECT_DIR):
        subfolders[:] = sorted(d for d in subfolders if d not in skip)
        for name in sorted(names):
            stat = os.stat(os.path.join(folder, name))
            files.append((folder, name, stat.st_size, stat.st_mtime_ns))
    return tuple(files)


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """``os.environ`` as ``values`` for the block, as it was afterwards: dbt in this process
    reads its connection and the run's variables from the environment."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
