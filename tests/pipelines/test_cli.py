"""``intra-elt``, the installed console script cron calls: each exit code it documents comes
out of it unchanged (make would turn every one of them into 2), and ``--help`` only helps."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from intra_simulator.control import SimulatorProcess
from pipelines import cli
from tests.conftest import REPO, lock_held_by_another_run

pytestmark = pytest.mark.integration

INTRA_ELT = Path(sys.executable).parent / "intra-elt"
COMMANDS = ["run", "full", "watch", "status", "docs", "demo", "dbt", "db-stop", "report"]
CHEAP = ("--skip-dbt", "--resources", "cursus")  # three calls, no dbt: exit codes are the point


def intra_elt(elt, command: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    argv = [str(INTRA_ELT), command, "--data-dir", str(elt.data_dir), *args]
    return subprocess.run(
        argv, cwd=REPO, env=elt.env(**env), capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess("tiny", 42, "--per-second", "20") as process:
        yield process


@pytest.mark.parametrize("command", [*COMMANDS, None])
def test_every_subcommand_has_a_help_that_does_nothing_else(
    command, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INTRA_ELT_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"] if command else ["--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: intra-elt {command or ''}")
    assert list(tmp_path.iterdir()) == [], "help wrote nothing (no data directory, no demo)"


def test_the_installed_script_and_the_modules_help_quickly(tmp_path) -> None:
    """The entry points themselves, the installed script and ``python -m pipelines``."""
    argvs = [[str(INTRA_ELT), "run", "--help"]]
    argvs += [[sys.executable, "-m", "pipelines", m, "--help"] for m in ("demo", "docs")]
    started = time.monotonic()
    processes = [
        subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, text=True) for argv in argvs
    ]
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert time.monotonic() - started < 30
    for argv, process, output in zip(argvs, processes, outputs, strict=True):
        assert process.returncode == 0, argv
        assert output.startswith("usage: intra-elt "), (argv, output)
    assert list(tmp_path.iterdir()) == [], "help wrote nothing"


def test_a_normal_run_exits_0_logs_to_its_data_dir_and_calls_the_first_one_a_backfill(
    sim, make_elt
) -> None:
    elt = make_elt(sim)
    first = intra_elt(elt, "run", *CHEAP)
    assert first.returncode == 0, first.stdout + first.stderr
    assert " start: backfill run, cursus 21" in first.stdout
    second = intra_elt(elt, "run", *CHEAP)
    assert second.returncode == 0, second.stdout + second.stderr
    assert " start: incremental run, cursus 21" in second.stdout
    assert elt.query("select mode from elt.runs order by run_id") == [
        ("backfill",),
        ("incremental",),
    ], "the ledger says which run was the backfill"

    log = (elt.data_dir / "logs" / "elt.log").read_text()
    assert log.count("--- run started ") == 2
    printed = [*first.stdout.splitlines(), *second.stdout.splitlines()]
    for line in printed:
        progress = line.startswith("  cursus: page ")  # the progress line: not in the log
        assert progress or line in log, f"printed but not logged: {line!r}"
    assert "RESULT: ok" in log and log.count(" done: ok") == 2
    assert sim.client_secret not in log


def test_a_failing_resource_exits_1_and_status_then_exits_1(sim, make_elt) -> None:
    elt = make_elt(sim)
    sim.admin.faults({"kind": "status", "status": 500, "path": "/v2/campus", "after": 0})
    try:
        failed = intra_elt(elt, "run", "--skip-dbt", "--resources", "campus")
    finally:
        sim.admin.clear_faults()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "ERROR campus: failed in extract" in failed.stdout

    status = intra_elt(elt, "status")
    assert status.returncode == 1, status.stdout + status.stderr
    assert "failed" in status.stdout and "last problem" in status.stdout


def test_a_wrong_secret_exits_2(sim, make_elt) -> None:
    elt = make_elt(sim)
    wrong = intra_elt(elt, "run", *CHEAP, SOURCES__INTRA__CLIENT_SECRET="not-the-secret-42")
    assert wrong.returncode == 2, wrong.stdout + wrong.stderr
    assert "invalid_client" in wrong.stdout


def test_a_spent_hourly_quota_exits_3(make_elt) -> None:
    """Six calls an hour: the token, the check and four pages of users, then the quota."""
    with SimulatorProcess("tiny", 42, "--per-second", "20", "--per-hour", "6") as quota_sim:
        elt = make_elt(quota_sim)
        spent = intra_elt(
            elt, "run", "--skip-dbt", "--resources", "users", SOURCES__INTRA__PAGE_SIZE="10"
        )
    assert spent.returncode == 3, spent.stdout + spent.stderr
    assert "users: ok, stopped early (quota)" in spent.stdout


def test_a_run_while_another_holds_the_lock_exits_75(sim, make_elt) -> None:
    elt = make_elt(sim)
    with lock_held_by_another_run(elt.data_dir):
        busy = intra_elt(elt, "full", *CHEAP)
    assert busy.returncode == 75, busy.stdout + busy.stderr
    assert "another ELT run is in progress (pid 4242" in busy.stdout
    assert sorted(p.name for p in elt.data_dir.iterdir()) == ["elt.lock"], "nothing touched"


def test_db_stop_without_an_embedded_database_says_so(tmp_path) -> None:
    stopped = subprocess.run(
        [str(INTRA_ELT), "db-stop", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 0, stopped.stderr
    assert f"{tmp_path / 'postgres'}: not running" in stopped.stdout


def embedded_home() -> Path:
    """A data directory the embedded server's own user can reach (not under pytest's
    temporary root, which only root may traverse)."""
    home = Path(tempfile.mkdtemp(prefix="intra-elt-test-cli-"))
    home.chmod(0o755)
    return home


def test_db_stop_stops_the_server_that_a_killed_client_left_running() -> None:
    """A run killed while it used the embedded server leaves its pid in pgserver's list of
    clients; db-stop stops the server anyway, and says so, and nothing else: cron sets no
    XDG_RUNTIME_DIR, whose absence pgserver's import would report on stderr."""
    home = embedded_home()
    cron_env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    client = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from pipelines.database import embedded_database\n"
        "embedded_database(Path(sys.argv[1]) / 'postgres')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    try:
        killed = subprocess.run([sys.executable, "-c", client, str(home)], cwd=REPO, timeout=120)
        assert killed.returncode == -9
        pid = int((home / "postgres" / "postmaster.pid").read_text().split()[0])
        assert running(pid), "the server outlived its killed client"
        stop = subprocess.run(
            [str(INTRA_ELT), "db-stop", "--data-dir", str(home)],
            capture_output=True,
            text=True,
            timeout=120,
            env=cron_env,
        )
        assert stop.returncode == 0, stop.stdout + stop.stderr
        assert stop.stderr == ""
        assert f"stopped (pid {pid})" in stop.stdout
        assert not running(pid), "db-stop said stopped: the server is gone"
        again = subprocess.run(
            [str(INTRA_ELT), "db-stop", "--data-dir", str(home)], capture_output=True, text=True
        )
        assert again.returncode == 0 and "not running" in again.stdout
    finally:
        subprocess.run([str(INTRA_ELT), "db-stop", "--data-dir", str(home)], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def running(pid: int) -> bool:
    """Alive, not a zombie (in a container, nothing may reap a server that was orphaned)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("command", COMMANDS)
def test_a_data_directory_that_cannot_be_used_is_a_setting_to_fix(command, tmp_path) -> None:
    """Under a regular file, under /proc: exit 2 naming --data-dir and INTRA_ELT_DATA_DIR, no
    traceback, for every subcommand (status and db-stop only read: /proc is not theirs to
    refuse)."""
    regular = tmp_path / "a-file"
    regular.write_text("")
    places = [regular / "data"]
    if command not in cli.READ_ONLY:
        places.append(Path("/proc/intra-elt/data"))
    extra = ["test"] if command == "dbt" else []
    for place in places:
        done = subprocess.run(
            [str(INTRA_ELT), command, "--data-dir", str(place), *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (place, done.stdout, done.stderr)
        assert "--data-dir (or env INTRA_ELT_DATA_DIR)" in done.stderr
        assert "Traceback" not in done.stderr


def test_dbt_by_hand_takes_the_data_directory_after_the_dbt_command_too(tmp_path) -> None:
    done = subprocess.run(
        [str(INTRA_ELT), "dbt", "test", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "DESTINATION__POSTGRES__CREDENTIALS"},
    )
    assert done.returncode == 2
    assert f"no database in {tmp_path}:" in done.stderr, done.stderr


def test_a_run_that_fails_its_configuration_check_starts_no_database(tmp_path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__INTRA__", "DESTINATION__POSTGRES__"))
    }
    env["SOURCES__INTRA__BASE_URL"] = "not a url"
    done = subprocess.run(
        [str(INTRA_ELT), "run", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,  # no .dlt/secrets.toml of the repository
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "sources.intra.base_url" in done.stdout
    assert not (tmp_path / "postgres").exists(), "no embedded database made"
    assert "tables in schema" not in done.stdout


def test_sigterm_on_docs_stops_dbt_docs_serve_and_frees_its_port(database, dbt_parsed) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = embedded_home()
    env = {**os.environ, "DESTINATION__POSTGRES__CREDENTIALS": database.dsn}
    env["DBT_DOCS_PORT"] = str(port)
    docs = subprocess.Popen(
        [str(INTRA_ELT), "docs", "--data-dir", str(home)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while not serving(port):
            assert docs.poll() is None and time.monotonic() < deadline, "docs never served"
            time.sleep(0.2)
        children = psutil.Process(docs.pid).children(recursive=True)
        assert children, "dbt docs serve runs as a child"
        docs.terminate()
        docs.wait(timeout=60)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], "dbt docs serve outlived intra-elt docs"
        assert not serving(port), "the port is free"
    finally:
        if docs.poll() is None:
            docs.kill()
        shutil.rmtree(home, ignore_errors=True)


def serving(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("option", [("--every", "nan"), ("--every", "0"), ("--ticks", "0")])
def test_watch_refuses_intervals_and_counts_it_cannot_keep(option, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["watch", "--data-dir", str(tmp_path / "data"), *option])
    assert exited.value.code == 2
    assert f"argument {option[0]}" in capsys.readouterr().err
    assert not (tmp_path / "data").exists(), "refused before anything is made"
