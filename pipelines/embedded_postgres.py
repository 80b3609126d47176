"""Starting the embedded PostgreSQL (``pgserver``) safely when several processes do it at once.

As root, PostgreSQL refuses to run, so pgserver runs it as a system user ``pgserver``, which it
creates with ``useradd`` the first time, outside any lock. Processes starting their servers at
the same moment (the test workers, a demo beside a test run) then race: two ``useradd`` calls,
one fails, or the data directory is chowned to a uid that is not the user's in the end and
``initdb`` cannot change its permissions. So the user is made here first, once, under a lock
that every starter takes; pgserver then finds it and creates nothing.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import subprocess
import tempfile
import warnings
from pathlib import Path

SYSTEM_USER = "pgserver"  # the name pgserver runs PostgreSQL as when started by root
USER_LOCK = Path(tempfile.gettempdir()) / "intra-elt-pgserver-user.lock"


def ensure_system_user(name: str = SYSTEM_USER) -> None:
    """As root, make sure the system user pgserver needs exists, creating it once under a lock
    shared by every process; as anyone else, nothing to do (PostgreSQL runs as them)."""
    if os.geteuid() != 0 or _user_exists(name):
        return
    with open(USER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _user_exists(name):  # another process may have made it while we waited
            subprocess.run(
                ["useradd", "--shell", "/bin/bash", name],
                check=True,
                capture_output=True,
                text=True,
            )


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def get_server(pgdata: Path, cleanup_mode: str | None):
    """pgserver's server for ``pgdata`` (started if it is not running), its user made first."""
    ensure_system_user()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        return pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)
