"""The demo's simulated time: every run finds the world the data directory mirrors, its clock
never ahead of the real one, so no event it shows is dated in the future."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.commands import demo

pytestmark = pytest.mark.integration


def clock(sim) -> datetime:
    return datetime.fromisoformat(sim.admin.call("GET", "health")["now"])


def state(sim) -> dict:
    """What the world holds, but for timestamps (a replay draws its moments again, within
    the seconds its process started later)."""
    return {
        "locations": sorted(
            (s["id"], s["campus_id"], s["end_at"] is None) for s in sim.admin.dump("locations")
        ),
        "levels": sorted((r["id"], r["level"]) for r in sim.admin.dump("cursus_users")),
    }


def test_every_demo_run_finds_the_same_world_and_its_clock_never_passes_the_real_time(
    tmp_path,
) -> None:
    time = demo.SimulatedTime.of(tmp_path, datetime.now(UTC))
    with SimulatorProcess("tiny", 42, *time.simulator_args()) as sim:
        assert clock(sim) < datetime.now(UTC), "the demo's world starts in the past"
        demo.let_time_pass(sim.admin, time)
        assert time.passed == [demo.SIMULATED_SECONDS]
        assert clock(sim) <= datetime.now(UTC)
        latest = max(c["at"] for c in sim.admin.changes() if c["at"])
        assert datetime.fromisoformat(latest.replace("Z", "+00:00")) <= datetime.now(UTC)
        demo.let_time_pass(sim.admin, time)
        assert len(time.passed) == 1, "an hour has passed since the start: nothing more now"
        seen = state(sim)
    time.save(tmp_path)

    again = demo.SimulatedTime.of(tmp_path, datetime.now(UTC))
    assert again == time
    with SimulatorProcess("tiny", 42, *again.simulator_args()) as sim:
        demo.replay(sim.admin, again)
        assert state(sim) == seen, "the replayed world is the one the first run left"
        assert clock(sim) <= datetime.now(UTC)
