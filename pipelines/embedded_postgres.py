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
    """pgserver's server for ``pgdata`` (started if it is not running), its user made first.

    pgserver keeps one handle per data directory for the life of the process and hands it
    out again without looking whether the server still runs. In a long-lived process (the
    watch) a server stopped or restarted behind its back would stay unreachable: every tick
    would fail. So a handle whose server is gone is dropped first (pgserver has no public way
    to do it), and the next one starts the server again."""
    ensure_system_user()
    pgserver = import_pgserver()
    resolved = pgdata.expanduser().resolve()
    instances = pgserver.PostgresServer._instances
    if resolved in instances and not _running(resolved):
        del instances[resolved]
    return pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)


def _running(pgdata: Path) -> bool:
    """Whether the server of ``pgdata`` runs (its pid file names a live process)."""
    try:
        pid = _postmaster_pid(pgdata)
    except StopFailed:  # a pid file that cannot be read: no server to trust
        return False
    return pid is not None and _process_exists(pid)


def _postmaster_pid(pgdata: Path) -> int | None:
    """The pid the server's pid file names; None without one."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError) as error:
        raise StopFailed(f"cannot read {pid_file}: {error}") from error


def import_pgserver():
    """The ``pgserver`` package, imported without the warning it causes under cron.

    Its class body asks platformdirs for a runtime directory, and platformdirs warns on
    stderr when XDG_RUNTIME_DIR is unset, as it is under cron: every log would carry it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver._commands

    return pgserver


class StopFailed(Exception):
    """The server could not be stopped; the message says why."""


STOP_TIMEOUT_SECONDS = 600


def stop_server(pgdata: Path) -> str:
    """Stop the server of ``pgdata`` if it runs, and say what was done.

    Not through pgserver's handle: it stops the server only when its list of client
    processes (``.handle_pids.json`` in the data directory) holds no other pid, and a
    client that was killed never removes itself, so the server would keep running. Its
    own ``pg_ctl stop`` does it whatever the list says; the list goes with the server."""
    pid = _postmaster_pid(pgdata)
    if pid is None:
        return "not running"
    if not _process_exists(pid):
        return f"not running (a stale postmaster.pid names pid {pid}, which is gone)"
    try:
        # pg_ctl waits 60 s by default; a fast stop first finishes the checkpoint in
        # progress, which PostgreSQL spreads over minutes (58.5 s on a busy host in the soak:
        # pg_ctl gave up, and the server stopped a second later)
        import_pgserver()._commands.pg_ctl(
            ["-w", "-t", str(STOP_TIMEOUT_SECONDS), "-m", "fast", "stop"],
            pgdata=pgdata,
            user=SYSTEM_USER if os.geteuid() == 0 else None,
        )
    except subprocess.CalledProcessError as error:
        raise StopFailed(f"pg_ctl stop failed (exit {error.returncode}) for {pgdata}") from error
    (pgdata / ".handle_pids.json").unlink(missing_ok=True)
    return f"stopped (pid {pid})"


def _process_exists(pid: int) -> bool:
    """Alive and not a zombie: in a container nothing may reap a server that was orphaned."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
