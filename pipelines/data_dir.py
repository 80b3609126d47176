"""The data directory every command works in (lock, dlt state, logs, dbt files, the embedded
database): checked before anything else, so that one that cannot be used is a setting to fix
(exit 2, naming ``--data-dir`` and ``INTRA_ELT_DATA_DIR``), not a traceback cron reads as a
failed run."""

from __future__ import annotations

import os
from pathlib import Path

SETTING = "--data-dir (or env INTRA_ELT_DATA_DIR)"


class DataDirError(Exception):
    """The data directory cannot be used; the message names the setting."""


def check_data_dir(path: Path, writable: bool) -> None:
    """Raise DataDirError unless ``path`` is a directory this process can use: made when it
    does not exist and ``writable`` (the commands that write), written to once to be sure."""
    try:
        existing = next(p for p in (path, *path.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise DataDirError(
                f"data directory {path} cannot be used: {existing} is not a directory: "
                f"set {SETTING}"
            )
        if not writable:
            return
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".intra-elt-write-check-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise DataDirError(
            f"data directory {path} cannot be used ({reason}: {error.filename or path}): "
            f"set {SETTING} to a directory this user can write"
        ) from None
