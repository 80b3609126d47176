"""The embedded PostgreSQL's system user, made once when several processes start servers at
the same moment (the test workers, a demo beside a test run), as on a fresh machine."""

from __future__ import annotations

import multiprocessing
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pipelines.embedded_postgres import ensure_system_user

STARTERS = 6


def start_together(name: str, directory: str, barrier, answers) -> None:
    """What pgserver does before initdb: the user, the data directory given to them, then a
    command run as them in it."""
    barrier.wait()
    try:
        ensure_system_user(name)
        user = pwd.getpwnam(name)
        os.chown(directory, user.pw_uid, user.pw_gid)
        subprocess.run(["runuser", "-u", name, "--", "test", "-O", directory], check=True)
        answers.put("ok")
    except Exception as error:  # the answer is the test's: any failure counts
        answers.put(f"{type(error).__name__}: {error}")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root makes a system user for PostgreSQL")
def test_processes_that_start_at_once_make_the_system_user_once() -> None:
    name = f"intra-elt-t{os.getpid()}"  # a user of its own: the suite's servers run as pgserver
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(STARTERS), context.Queue()
    # not under pytest's temporary root, which only root may traverse
    home = Path(tempfile.mkdtemp(prefix="intra-elt-test-user-"))
    home.chmod(0o755)
    places = [home / str(n) for n in range(STARTERS)]
    for place in places:
        place.mkdir()
    starters = [
        context.Process(target=start_together, args=(name, str(place), barrier, answers))
        for place in places
    ]
    try:
        for process in starters:
            process.start()
        for process in starters:
            process.join(timeout=120)
        assert [answers.get(timeout=5) for _ in starters] == ["ok"] * STARTERS
        assert [u.pw_name for u in pwd.getpwall()].count(name) == 1
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.integration
def test_a_server_stopped_behind_a_long_lived_process_is_started_again(tmp_path) -> None:
    """The watch asks for its database at every tick: a server stopped (or restarted) since
    the last tick must not leave it a handle to nothing."""
    from pipelines.database import embedded_database
    from pipelines.embedded_postgres import stop_server

    pgdata = tmp_path / "postgres"
    first = embedded_database(pgdata)
    try:
        assert stop_server(pgdata.resolve()).startswith("stopped")
        again = embedded_database(pgdata)  # the same process, as the watch's next tick
        with again.connect() as connection, connection.cursor() as cursor:
            cursor.execute("select 1")
            assert cursor.fetchone() == (1,)
        assert first.dsn == again.dsn
    finally:
        stop_server(pgdata.resolve())
