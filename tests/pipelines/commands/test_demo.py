"""The demo's simulated time: its hour of activity before a second run ends at the real time,
so no event it shows is dated in the future."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.commands import demo

pytestmark = pytest.mark.integration


def test_the_demos_simulated_hour_ends_no_later_than_the_real_time() -> None:
    with SimulatorProcess("tiny", 42, *demo.SIMULATOR_ARGS) as sim:
        started = datetime.fromisoformat(sim.admin.call("GET", "health")["now"])
        assert started < datetime.now(UTC), "the demo's world starts in the past"
        demo.let_time_pass(sim.admin)
        after = datetime.fromisoformat(sim.admin.call("GET", "health")["now"])
        assert after <= datetime.now(UTC)
        latest = max(c["at"] for c in sim.admin.changes() if c["at"])
        assert datetime.fromisoformat(latest.replace("Z", "+00:00")) <= datetime.now(UTC)
