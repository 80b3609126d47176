"""Wall and CPU seconds per stage of a run (extract, normalize, load, dbt).

CPU counts this process and its finished children (dbt runs as a child process, and a big
package is normalized by worker processes), so a stage's CPU is what the ELT itself spent,
apart from waiting on the API or the database. Peak memory (``peak_mb``) is this process's
high-water mark at the end of the stage; for ``normalize`` the larger of it and the largest
worker's, for ``dbt`` the largest finished child process's (dbt, unless a normalize worker
was larger). The bench reads these numbers from the run ledger.
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator

STAGES = ("extract", "normalize", "load", "dbt")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mb(children: bool = False) -> float:
    """High-water resident memory of this process, or of its largest finished child."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


class StageClock:
    """Accumulates wall and CPU seconds per stage over a run."""

    def __init__(self) -> None:
        self.totals = {name: {"wall": 0.0, "cpu": 0.0} for name in STAGES}

    @contextlib.contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        wall, cpu = time.monotonic(), cpu_seconds()
        try:
            yield
        finally:
            total = self.totals.setdefault(stage, {"wall": 0.0, "cpu": 0.0})
            total["wall"] += time.monotonic() - wall
            total["cpu"] += cpu_seconds() - cpu
            own, child = peak_rss_mb(), peak_rss_mb(children=True)
            total["peak_mb"] = {"dbt": child, "normalize": max(own, child)}.get(stage, own)

    def rounded(self) -> dict[str, dict[str, float]]:
        return {
            stage: {k: round(v, 3) for k, v in values.items()}
            for stage, values in self.totals.items()
        }
