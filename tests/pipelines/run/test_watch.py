"""``intra-elt watch``: ticks in one process against the simulator and a real PostgreSQL. A
tick reads only what is due, spends no call on a token or a check, builds only after a load,
and SIGTERM ends the watch with exit 0 and nothing left running in the ledger."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from pathlib import Path

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.intra.settings import BY_ID_ENDPOINTS, LIVE_ENDPOINTS, REFERENCE_ENDPOINTS
from pipelines.run.watch import EVERY_TICK
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def finished_ticks(elt) -> list[tuple]:
    if elt.query("select to_regclass('elt.runs')") == [(None,)]:
        return []
    return elt.query(
        "select run_id, mode, status, reasons, resources, dbt is not null, published, "
        "api_calls from elt.runs where finished_at is not null order by run_id"
    )


def wait_for(condition, process, timeout: float = 1200.0) -> None:
    """Until ``condition``, while the watch runs. The timeout only catches a watch that never
    gets there: a first tick (backfill and a build of everything) took over 5 minutes on the
    2 cores shared with a bench and a soak."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the watch exited with {process.returncode}"
        assert time.monotonic() < deadline, "the watch did not get there in time"
        time.sleep(0.5)


@contextlib.contextmanager
def watching(elt, log: Path, *options: str):
    """``intra-elt watch`` with ``options``, its output in ``log`` (a file, not a pipe nobody
    reads while it ticks); SIGTERM when the block ends, SIGKILL if the block failed."""
    argv = elt.argv(*options, command="watch")
    watch = subprocess.Popen(
        argv, cwd=REPO, env=elt.env(), stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    try:
        yield watch
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=120)
    finally:
        if watch.poll() is None:
            watch.kill()


def test_ticks_read_what_is_due_build_after_loads_only_and_sigterm_ends_the_watch(
    make_elt, tmp_path
) -> None:
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        log = tmp_path / "watch.out"
        # other live resources every 30 s: a tick takes seconds, over 10 on 2 busy cores; the
        # calm ones every tick still (their wait is test_watch_cadence's)
        options = ("--every", "1", "--other-live-every", "30", "--quiet-every", "1")
        with watching(elt, log, *options) as watch:
            # quiet ticks, until the other live resources come due again. A tick that loads
            # nothing is waited for, not assumed: the simulated sessions begin and end in
            # real time, and a tick that took 30 s on busy cores caught one nearly every time
            wait_for(lambda: any("users" in t[3] for t in finished_ticks(elt)[1:]), watch)
            wait_for(lambda: any(not loads(t) for t in finished_ticks(elt)[1:]), watch)
            busy = elt.run("--skip-dbt", "--resources", "cursus")
            assert busy.returncode == 75, busy.stdout + busy.stderr
            quiet = len(finished_ticks(elt))
            sim.admin.advance(3600)  # an hour of activity: registrations, marks, sessions
            wait_for(lambda: any(t[6] for t in finished_ticks(elt)[quiet:]), watch)
            # one more change, now: the next windows read it again (their overlap)
            [(record_id,)] = elt.query("select min(cursus_user_id) from marts.cursus_users")
            sim.admin.update("cursus_users", record_id, {"level": 21.0})
            wait_for(lambda: any(rereads(t) for t in finished_ticks(elt)[quiet:]), watch)
    output = log.read_text()
    assert watch.returncode == 0, output
    assert "watch: ended after" in output and "(SIGTERM)" in output
    progress_lines = output.count("  cursus_users: page ")
    assert progress_lines <= len(finished_ticks(elt)) + 3, "one progress handler, not one a tick"

    ticks = finished_ticks(elt)
    assert elt.query("select count(*) from elt.runs where finished_at is null") == [(0,)]
    first, *later = ticks
    assert first[1] == "backfill" and first[5] and first[6], "the first tick reads and publishes"
    assert set(first[3]) == set(REFERENCE_ENDPOINTS) | set(LIVE_ENDPOINTS) | set(BY_ID_ENDPOINTS)
    assert first[3]["campus"] == "reference: no good read yet"
    for run_id, mode, status, reasons, resources, built, published, calls in later:
        # SIGTERM may come during a tick: it ends after its current resource, "stopped"
        last = run_id == later[-1][0]
        assert mode == "tick" and status in (("ok", "stopped") if last else ("ok",)), status
        assert set(EVERY_TICK) <= set(reasons) <= set(LIVE_ENDPOINTS) | set(BY_ID_ENDPOINTS)
        assert set(resources) <= set(reasons)
        others = set(reasons) - set(EVERY_TICK)
        assert all(reasons[r].startswith("live: last good read ") for r in others), reasons
        assert calls == sum(r["calls"] for r in resources.values()), "no token, no check"
        loaded = loads((run_id, mode, status, reasons, resources))
        assert built == loaded and published == loaded, (run_id, resources)
        if not loaded:
            assert all(r["calls"] == r["minimum_calls"] for r in resources.values())
    assert any(not t[5] for t in later), "a quiet tick runs no dbt"
    reread = [t for t in later if rereads(t)]
    assert reread and not any(t[5] for t in reread if not loads(t)), "nor one that read again"
    assert any(set(t[3]) == set(EVERY_TICK) for t in later), "the others are not always due"
    assert any("users" in t[3] for t in later), "and come due again after --other-live-every"
    assert later[-1][6] or any(t[6] for t in later), "the hour of activity was published"
    # dbt ran in the watch's process, and its later builds used the project parsed for the first
    assert output.count("dbt build: ok") >= 2, output
    build_log = (elt.data_dir / "logs" / "dbt-build.log").read_text()
    assert "the parsed project is kept" in build_log and "PASS=" in build_log, build_log


def rereads(tick: tuple) -> int:
    """Records a tick read again as they were loaded (the windows' overlap)."""
    return sum(r["unchanged"] for r in tick[4].values())


def loads(tick: tuple) -> bool:
    return any(r["read"] > r["unchanged"] or r["deleted"] for r in tick[4].values())


def test_started_with_the_hourly_quota_spent_a_run_exits_3_and_the_watch_waits(
    make_elt, tmp_path
) -> None:
    with SimulatorProcess("tiny", 42, "--per-hour", "1") as sim:
        elt = make_elt(sim)
        first = elt.run("--skip-dbt", "--resources", "cursus")  # the check takes the hour's call
        assert first.returncode == 3, first.stdout + first.stderr
        spent = elt.run("--skip-dbt", "--resources", "cursus")
        assert spent.returncode == 3, spent.stdout + spent.stderr
        assert "hourly API quota exhausted" in spent.stdout and "Traceback" not in spent.stderr
        log = tmp_path / "watch.out"
        with watching(elt, log, "--other-live-every", "1") as watch:
            wait_for(lambda: log.read_text().count("trying again in 1 s") >= 2, watch)
    output = log.read_text()
    assert watch.returncode == 0, output
    assert "Traceback" not in output, output
