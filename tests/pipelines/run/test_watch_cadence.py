"""The watch's cadence of the summaries (``Watch.summaries_due``): pure logic, no process."""

from __future__ import annotations

from pathlib import Path

from pipelines.run.watch import Watch, WatchOptions


def test_the_summaries_are_due_at_first_then_every_summaries_every() -> None:
    watch = Watch(WatchOptions(Path("unused"), every=60.0, summaries_every=600.0))
    assert watch.summaries_due(1000.0), "none built by this watch yet"
    watch.summaries_built = 1000.0
    assert not watch.summaries_due(1000.0 + 60)
    assert not watch.summaries_due(1000.0 + 569)
    assert watch.summaries_due(1000.0 + 570), "half a tick early, as the reads' cadences"
