"""What a run prints: timestamped lines on stdout, copied to ``<data dir>/logs/elt.log``, so
that a run can be read afterwards whatever cron did with its output."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
from datetime import UTC, datetime
from pathlib import Path

RUN_LOG = "intra.elt"  # the logger behind <data dir>/logs/elt.log


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
