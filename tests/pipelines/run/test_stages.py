"""The stage clock adds up wall and CPU time per stage, across several passes."""

from __future__ import annotations

import time

from pipelines.run.stages import StageClock


def test_a_stage_accumulates_wall_and_cpu_over_passes() -> None:
    clock = StageClock()
    for _ in range(2):
        with clock.measure("extract"):
            deadline = time.process_time() + 0.05
            while time.process_time() < deadline:  # busy: CPU time
                pass
            time.sleep(0.05)  # waiting: wall time only
    extract = clock.totals["extract"]
    assert extract["cpu"] >= 0.1
    assert extract["wall"] >= extract["cpu"] + 0.1
    assert clock.totals["dbt"] == {"wall": 0.0, "cpu": 0.0}


def test_a_failing_stage_is_still_counted() -> None:
    clock = StageClock()
    try:
        with clock.measure("load"):
            time.sleep(0.02)
            raise RuntimeError("the database went away")
    except RuntimeError:
        pass
    assert clock.totals["load"]["wall"] >= 0.02
