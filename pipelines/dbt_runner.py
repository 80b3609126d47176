"""Running dbt against the same database as dlt.

dbt runs as its own process, exactly as a user would run it by hand, with the connection
passed through the variables ``dbt_project/profiles.yml`` reads (see ``Database.dbt_env``).
Its full output goes to a log file; the caller gets the outcome per node from
``target/run_results.json`` to print a short summary, failures first.
"""

from __future__ import annotations

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
    """Run ``dbt <command...>`` (e.g. ``"build"`` or ``"docs", "generate"``); never raises for
    dbt failures: the result says what happened."""
    # dbt runs in the project folder: relative paths would land under dbt_project/.
    log_dir = log_dir.resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    first_flag = next((i for i, part in enumerate(command) if part.startswith("-")), len(command))
    words = list(command[:first_flag])
    name = " ".join(words)
    log_path = log_dir / f"dbt-{'-'.join(words)}.log"
    # A target folder per data directory keeps dbt's partial-parse cache and run results
    # apart from other deployments (and tests) sharing the project folder.
    target = (target_dir or DBT_PROJECT_DIR / "target").resolve()
    argv = dbt_argv(command, log_dir, target, dbt_vars)
    # dbt's own debug log (every query of every node) cost a tenth of a build's time; its
    # console output, kept in log_path above, says what ran and what failed.
    argv += ["--log-level-file", "warn"]
    env = dbt_environment(database, dbt_env)
    started = time.monotonic()
    with open(log_path, "w") as log:
        completed = subprocess.run(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=DBT_PROJECT_DIR, check=False
        )
    result = DbtResult(name, completed.returncode, time.monotonic() - started, log_path)
    results_file = target / "run_results.json"
    if results_file.exists() and results_file.stat().st_mtime >= time.time() - result.seconds - 1:
        for node in json.loads(results_file.read_text()).get("results", []):
            status = str(node.get("status"))
            result.statuses[status] += 1
            if status in ("error", "fail", "warn"):
                name = node.get("unique_id", "?").split(".", 2)[-1]
                message = (node.get("message") or "").strip().splitlines()
                result.problems.append(f"{status.upper()} {name}: {message[0] if message else ''}")
    if not result.ok and not result.problems:
        tail = log_path.read_text().strip().splitlines()[-5:]
        result.problems.extend(tail)
    result.problems.sort(key=lambda p: not p.startswith(("ERROR", "FAIL")))
    return result
