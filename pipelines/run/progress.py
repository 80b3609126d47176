"""Showing how far a long extraction is.

The source emits one ``intra.progress`` log record per page fetched (resource, page x of y
from ``X-Total``, records, allowed call rate). This handler turns them into:

- on a terminal: one live status line, rewritten in place, with an ETA at the current
  allowed rate (or at the pace observed, when slower);
- elsewhere (cron, CI, a log file): a plain line at the first page, then at most one line per
  ``every_seconds``, so a 400-page backfill writes a readable handful of lines.

Warnings on the same logger (an application secret about to expire) go to ``warn``, one line
each: the run passes the function that prints its own lines, so they reach its log too.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO


def eta(pages_left: int, rate: float) -> str:
    if pages_left <= 0 or rate <= 0 or rate == float("inf"):
        return "0s"
    seconds = int(pages_left / rate)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressHandler(logging.Handler):
    def __init__(
        self,
        stream: TextIO | None = None,
        every_seconds: float = 30.0,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(level=logging.INFO)
        self.stream = stream or sys.stdout
        self.warn = warn
        self.live = self.stream.isatty()
        self.every_seconds = every_seconds
        self._last_line: dict[str, float] = {}
        self._started: dict[str, tuple[float, int]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        resource = getattr(record, "resource", None)
        if resource is None:
            if record.levelno >= logging.WARNING:
                self.clear()
                line = f"WARNING {record.getMessage()}"
                if self.warn is not None:
                    self.warn(line)
                else:
                    self.stream.write(f"{line}\n")
            return
        pages = record.pages or record.page
        now = time.monotonic()
        started = self._started.setdefault(resource, (now, record.page))
        elapsed = now - started[0]
        observed = (record.page - started[1]) / elapsed if elapsed > 1 else float("inf")
        rate = min(record.rate, observed)  # the API's allowance, or our own pace if slower
        text = (
            f"{resource}: page {record.page}/{pages}, {record.records}/{record.total} records, "
            f"ETA {eta(pages - record.page, rate)} at {min(rate, 999):.1f} calls/s"
        )
        if self.live:
            self.stream.write("\r\x1b[2K  " + text)
            self.stream.flush()
            return
        now = time.monotonic()
        first = resource not in self._last_line
        if first or now - self._last_line[resource] >= self.every_seconds:
            self._last_line[resource] = now
            self.stream.write(f"  {text}\n")
            self.stream.flush()

    def clear(self) -> None:
        """End the live line before other output is printed."""
        if self.live:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
