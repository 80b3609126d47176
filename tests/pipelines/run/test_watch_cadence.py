"""The watch's cadence of the summaries (``Watch.summaries_due``): pure logic, no process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipelines.run.watch import Watch, WatchOptions


def test_the_summaries_are_due_at_first_then_every_summaries_every() -> None:
    watch = Watch(WatchOptions(Path("unused"), every=60.0, summaries_every=600.0))
    assert watch.summaries_due(1000.0), "none built by this watch yet"
    watch.summaries_built = 1000.0
    assert not watch.summaries_due(1000.0 + 60)
    assert not watch.summaries_due(1000.0 + 569)
    assert watch.summaries_due(1000.0 + 570), "half a tick early, as the reads' cadences"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_a_resource_read_every_tick_waits_up_to_quiet_every_while_calm() -> None:
    watch = Watch(
        WatchOptions(
            Path("unused"),
            every=60.0,
            quiet_every=180.0,
            resources=("projects_users", "cursus_users", "locations", "users_by_id"),
        )
    )
    reads = {name: (minutes(1), minutes(1)) for name in watch.options.resources}
    busy = {"projects_users": 40.0, "cursus_users": 10.0, "locations": 2.5}
    assert watch.due_after(reads, busy) == {
        "projects_users": "live: every tick",
        "cursus_users": "live: every tick",
        "users_by_id": "live: every tick",
    }, "locations is calm (2.5 changes a minute), read a minute ago: it waits"
    assert watch.due_after(reads, {})["locations"] == "live: every tick", "no rate yet"
    reads["locations"] = (minutes(2.5), minutes(2.5))  # quiet_every, less half a tick
    assert watch.due_after(reads, busy)["locations"] == (
        "live: calm (2.5 changes a minute): every --quiet-every"
    )
    reads["locations"] = (minutes(2.4), minutes(0.1))  # a failed read since: still calm
    assert "locations" not in watch.due_after(reads, busy)


def test_the_first_busy_read_makes_a_calm_resource_due_every_tick_again() -> None:
    watch = Watch(WatchOptions(Path("unused"), every=60.0, resources=("cursus_users",)))
    read_a_minute_ago = {"cursus_users": (minutes(1), minutes(1))}
    assert watch.due_after(read_a_minute_ago, {"cursus_users": 9.9}) == {}
    assert watch.due_after(read_a_minute_ago, {"cursus_users": 10.0}) == {
        "cursus_users": "live: every tick"
    }
