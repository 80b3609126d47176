"""A seed makes one world, and what came later left it as it was.

Retries (a registration's earlier attempts and new ones) and locations came after the rest of
the simulator, each drawing from random streams and id counters of its own: a seed's other
records, ids and changes are those it had before them. ``BASE`` holds the digests of the tiny
seed-42 world below as commit b319b0c (before either) made it, computed with this module's
``digest`` on that commit's simulator.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from intra_simulator.activity import Activity
from intra_simulator.generate import build_dataset
from intra_simulator.population import build_population, schedule_anonymizations
from intra_simulator.world import Clock, World

# The collections, and the kinds of change, that were there before retries and locations.
OLD_COLLECTIONS = (
    "cursus", "campus", "projects", "achievements", "coalitions", "blocs", "users",
    "campus_users", "cursus_users", "projects_users", "achievements_users", "coalitions_users",
)  # fmt: skip
OLD_KINDS = {
    "project_registered", "project_finished", "project_validated", "project_failed",
    "project_unregistered", "level_changed", "blackhole_changed", "cursus_ended",
    "achievement_earned", "coalition_joined", "coalition_left", "coalition_score_changed",
    "became_alumni", "entered_scope", "wallet_changed", "anonymized", "project_edited",
}  # fmt: skip
HOURS = (1, 3, 6, 12, 24, 48)  # the advances
# At the start and after the advances, the old collections (a registration's teams cut to its
# current one: the only team the base had) and the old kinds of change.
BASE = {
    "start": "cfd9573388f2f3186aab952350304d70933e590e4f672f4da6467a8810ae1c4b",
    "advanced": "480322ad22ac416354fdcb3472c3888bd4632eb013692b2a8f328e558508db1a",
}


class FrozenClock(Clock):
    """Simulated time that only ``advance`` moves (the same stamps on every run)."""

    def time(self) -> float:
        return self._wall0 + self._offset


def new_world() -> World:
    data = build_dataset("tiny", 42)
    population, builder = build_population(data, 42, "tiny")
    clock = FrozenClock(datetime(2026, 10, 27, 12, tzinfo=UTC))
    schedule_anonymizations(population, data, clock.now(), 42)
    return World(data, clock, seed=42, builder=builder)


def advance(world: World) -> World:
    for hours in HOURS:
        world.advance(hours * 3600)
    return world


def digest(world: World, leave_out: frozenset[int] = frozenset()) -> str:
    """The old collections and the old kinds of change, without the registrations
    ``leave_out`` names (and their changes)."""
    dumps = {}
    for name in OLD_COLLECTIONS:
        rows = world.store.dump(name)
        if name == "projects_users":
            rows = [r for r in rows if r["id"] not in leave_out]
            for record in rows:
                record["teams"] = [
                    t for t in record["teams"] if t["id"] == record["current_team_id"]
                ]
        dumps[name] = rows
    dumps["changes"] = [
        {k: v for k, v in entry.items() if k not in ("seq", "updated_at")}  # updated_at: newer
        for entry in world.store.change_log
        if entry["kind"] in OLD_KINDS
        and not (entry["subject"] == "projects_user" and entry["subject_id"] in leave_out)
    ]
    return hashlib.sha256(json.dumps(dumps, sort_keys=True).encode()).hexdigest()


@pytest.fixture
def without_retries(monkeypatch):
    monkeypatch.setattr(Activity, "retry", lambda self, rng: None)


def test_the_records_that_were_there_are_as_they_were(without_retries) -> None:
    """Locations and the teams of earlier attempts changed nothing else (retries, which do
    change registrations, are the next test's)."""
    world = new_world()
    assert digest(world) == BASE["start"]
    assert digest(advance(world)) == BASE["advanced"]


def test_retries_change_only_the_registrations_they_retry(monkeypatch) -> None:
    retrying = advance(new_world())
    retried = frozenset(
        e["subject_id"] for e in retrying.store.change_log if e["kind"] == "project_retried"
    )
    assert retried
    monkeypatch.setattr(Activity, "retry", lambda self, rng: None)
    plain = advance(new_world())
    assert digest(retrying, retried) == digest(plain, retried)


def test_a_seed_makes_the_same_world() -> None:
    first, second = new_world(), new_world()
    assert first.store.dump("locations") == second.store.dump("locations")
    for hours in HOURS[:3]:
        assert first.advance(hours * 3600) == second.advance(hours * 3600)
    for name in first.store.collections:
        assert first.store.dump(name) == second.store.dump(name), name
    assert first.store.change_log == second.store.change_log
