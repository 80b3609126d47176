"""SIGKILL at random points of a run, then a normal run: it must always converge.

A cron host can die at any moment: during extraction, dlt's normalize or load steps, dbt or
the publish swap. Each trial lets a run go for a random time drawn from a seeded generator,
kills its whole process group (the ELT and its dbt child) with SIGKILL, and checks that the
next normal run ends well and that every mart equals the oracle. Slow (about 20 trials of two
runs each): ``make test-slow``; the quick suite leaves it out.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter

import pytest

from intra_simulator.control import SimulatorProcess
from tests.conftest import REPO
from tests.pipelines.run.conftest import (
    SMALL_PAGES,
    assert_live_marts_match,
    assert_marts_match_oracle,
    silent_ids,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRIALS = 20
SEED = 20261128


def stage_reached(output: str) -> str:
    """Where the run was when it died, from the last line it printed."""
    lines = [line for line in output.splitlines() if line[:2].isdigit()]
    if not lines:
        return "start"
    last = lines[-1]
    if "published" in last:
        return "after publish"
    if "dbt build: running" in last:
        return "dbt build or publish"
    if "erased" in last:
        return "privacy erasure or dbt"
    resource = last.split(" ", 1)[1].split(":", 1)[0]
    return f"extract/normalize/load after {resource}"


def test_sigkill_at_random_points_then_the_next_run_converges(make_elt) -> None:
    rng = random.Random(SEED)
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        first = elt.run(**SMALL_PAGES)
        assert first.returncode == 0, first.stdout
        # The kills are spread over the length of a run like the victims' (incremental, not
        # the backfill above): most of them must hit a running process.
        sim.admin.advance(3 * 3600)
        started = time.monotonic()
        calibration = elt.run(**SMALL_PAGES)
        assert calibration.returncode == 0, calibration.stdout
        duration = time.monotonic() - started
        stages: Counter = Counter()
        argv = elt.argv()
        for trial in range(TRIALS):
            sim.admin.advance(3 * 3600)  # something to extract each time
            delay = rng.uniform(0.3, duration * 1.1)
            victim = subprocess.Popen(
                argv,
                cwd=REPO,
                env=elt.env(**SMALL_PAGES),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group: dbt dies with it
            )
            time.sleep(delay)
            if victim.poll() is None:
                os.killpg(victim.pid, signal.SIGKILL)
            output, _ = victim.communicate()
            stage = "finished before the kill" if victim.returncode == 0 else stage_reached(output)
            stages[stage] += 1

            healed = elt.run(**SMALL_PAGES)
            where = f"trial {trial} (killed at {delay:.1f} s, {stage})"
            assert healed.returncode == 0, f"{where}:\n{healed.stdout}"
            try:
                assert_marts_match_oracle(elt, sim)
                assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
            except AssertionError as error:
                raise AssertionError(f"{where}: {error}") from error
        print(f"\n{TRIALS} kills, run length {duration:.1f} s, where they hit: {dict(stages)}")
        assert (
            sum(n for s, n in stages.items() if s != "finished before the kill") >= TRIALS * 3 // 4
        )
