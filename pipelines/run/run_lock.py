"""At most one ELT run at a time.

Cron can start a run while the previous one is still waiting on the API quota. Two runs on one
dataset would share dlt's staging tables and interleave merges, so the second run must not
start at all. An exclusive ``flock`` on ``<data dir>/elt.lock`` guards the host; the kernel
releases it when the process dies, even on SIGKILL, so a crashed run never blocks the next.
The file records who holds it, for the message the second run prints.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path


class AlreadyRunning(Exception):
    """Another run holds the lock."""


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # held open (and locked) for the whole run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            try:
                info = json.loads(holder)
                who = f"pid {info['pid']}, started {info['started']}"
            except (ValueError, KeyError):
                who = "unknown holder"
            raise AlreadyRunning(
                f"another ELT run is in progress ({who}; lock {self.path}); this run exits "
                "without touching anything"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
            )
        )
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc_info) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def lock_holder(path: Path) -> dict | None:
    """Who holds the run lock (``{"pid", "started"}``), or None when nobody does."""
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                return json.loads(handle.read())
            except ValueError:
                return {}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None
