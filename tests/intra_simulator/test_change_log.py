"""The simulator's change log (``GET /_sim/changes``): one entry per change time makes, that
agrees with the records, marks exactly the silent changes, and leaves the world as it was."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from intra_simulator.activity import Activity
from intra_simulator.control import SimulatorProcess
from intra_simulator.generate import MAIN_CURSUS_ID, build_dataset
from intra_simulator.population import build_population, schedule_anonymizations
from intra_simulator.world import Clock, World

ENTRY_KEYS = {
    *("seq", "kind", "user_id", "subject", "subject_id", "old", "new", "at", "silent"),
    "updated_at",
}
SUBJECTS = {  # kind -> the subject it is about
    "project_registered": "projects_user",
    "project_finished": "projects_user",
    "project_validated": "projects_user",
    "project_failed": "projects_user",
    "project_unregistered": "projects_user",
    "project_retried": "projects_user",
    "level_changed": "cursus_user",
    "blackhole_changed": "cursus_user",
    "cursus_ended": "cursus_user",
    "achievement_earned": "achievements_user",
    "coalition_joined": "coalitions_user",
    "coalition_left": "coalitions_user",
    "coalition_score_changed": "coalitions_user",
    "became_alumni": "user",
    "entered_scope": "user",
    "wallet_changed": "user",
    "anonymized": "user",
    "project_edited": "project",
    "location_begun": "location",
    "location_ended": "location",
    "location_deleted": "location",
}
ADVANCES = 3  # of six hours each


@pytest.fixture(scope="module")
def history():
    """A tiny simulator: one admission, then three advances; the log, the silent ids and the
    records afterwards, and where each advance starts in the log and in time."""
    with SimulatorProcess("tiny", 42, "--per-second", "0", "--per-hour", "0") as sim:
        admin = sim.admin
        admin.call("DELETE", "silent")
        admitted = admin.admit()
        marks = []  # (seq before the advance, its start, its end)
        for _ in range(ADVANCES):
            before = len(admin.changes())
            start = admin.call("GET", "health")["now"]
            end = admin.advance(6 * 3600)["now"]
            marks.append((before, stamp(start), stamp(end)))
        yield {
            "admin": admin,
            "admitted": admitted,
            "marks": marks,
            "changes": admin.changes(),
            "silent": admin.call("GET", "silent"),
            "dumps": {
                name: {r["id"]: r for r in admin.dump(name)}
                for name in (
                    "users",
                    "campus_users",
                    "cursus_users",
                    "projects_users",
                    "achievements_users",
                    "coalitions_users",
                    "projects",
                )
            },
        }


def stamp(iso_now: str) -> str:
    """The health/advance ``now`` in the records' format (milliseconds, ``Z``)."""
    moment = datetime.fromisoformat(iso_now).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def last_of(changes: list[dict], kind: str) -> dict[int, dict]:
    """The last entry of a kind per subject id."""
    return {e["subject_id"]: e for e in changes if e["kind"] == kind}


def test_entries_are_numbered_typed_and_dated_inside_their_advance(history) -> None:
    changes = history["changes"]
    assert [e["seq"] for e in changes] == list(range(1, len(changes) + 1))
    assert all(set(e) == ENTRY_KEYS for e in changes)
    assert all(e["subject"] == SUBJECTS[e["kind"]] for e in changes)
    kinds = Counter(e["kind"] for e in changes)
    expected = {
        "project_registered",
        "project_finished",
        "project_validated",
        "project_failed",
        "level_changed",
        "blackhole_changed",
        "achievement_earned",
        "coalition_joined",
        "entered_scope",
        "wallet_changed",
        "coalition_score_changed",
        "project_edited",
        "location_begun",
        "location_ended",
    }
    assert expected <= set(kinds), kinds
    assert all(e["user_id"] is None for e in changes if e["kind"] == "project_edited")
    assert all(isinstance(e["user_id"], int) for e in changes if e["kind"] != "project_edited")
    for number, (before, start, end) in enumerate(history["marks"]):
        after = history["marks"][number + 1][0] if number + 1 < ADVANCES else len(changes)
        logged = changes[before:after]
        assert logged, f"advance {number} logged changes"
        # a touch keeps a later updated_at, which some reference records carry: only >= start;
        # a session planned to end while the clock ran between two advances (when nothing
        # happens) is closed at the next one, at its planned end
        assert all(start <= e["at"] for e in logged if e["kind"] != "location_ended")
        own_stamps = [e for e in logged if e["kind"] != "project_edited"]
        assert all(e["at"] <= end for e in own_stamps)


def test_entries_agree_with_the_records(history) -> None:
    changes, dumps = history["changes"], history["dumps"]
    projects_users, cursus_users = dumps["projects_users"], dumps["cursus_users"]
    users, campus_users = dumps["users"], dumps["campus_users"]

    for pid, entry in last_of(changes, "project_registered").items():
        if pid in projects_users:  # not unregistered since
            record = projects_users[pid]
            assert (entry["new"], entry["at"]) == (record["project"]["id"], record["created_at"])
    finished = [e for e in changes if e["kind"] == "project_finished" and not e["silent"]]
    assert finished
    for entry in finished:
        record = projects_users[entry["subject_id"]]
        assert (entry["new"], entry["at"]) == (record["final_mark"], record["marked_at"])
        assert record["status"] == "finished"
    outcomes = [e for e in changes if e["kind"] in ("project_validated", "project_failed")]
    assert len(outcomes) == len(finished)
    for entry in outcomes:
        record = projects_users[entry["subject_id"]]
        assert record["validated?"] is (entry["kind"] == "project_validated")
        assert (entry["new"], entry["at"]) == (record["final_mark"], record["marked_at"])
    for entry in changes:
        if entry["kind"] == "project_finished" and entry["silent"]:
            record = projects_users.get(entry["subject_id"])
            assert record is None or (record["status"], record["final_mark"]) == (
                "finished",
                entry["new"],
            )

    for cid, entry in last_of(changes, "level_changed").items():
        record = cursus_users[cid]
        assert record["level"] == entry["new"] and record["updated_at"] == entry["at"]
        assert entry["updated_at"] == record["updated_at"]  # the version that shows it
        assert record["cursus_id"] == MAIN_CURSUS_ID
    for cid, entry in last_of(changes, "blackhole_changed").items():
        assert cursus_users[cid]["blackholed_at"] == entry["new"]
    for cid, entry in last_of(changes, "cursus_ended").items():
        assert cursus_users[cid]["end_at"] == entry["new"] == entry["at"]

    for uid, entry in last_of(changes, "wallet_changed").items():
        assert users[uid]["wallet"] == entry["new"]
    for uid, entry in last_of(changes, "became_alumni").items():
        assert users[uid]["alumni?"] and users[uid]["alumnized_at"] == entry["at"]
    for uid, entry in last_of(changes, "anonymized").items():
        assert users[uid]["login"] == entry["new"]
    for uid, entry in last_of(changes, "entered_scope").items():
        rows = [r for r in campus_users.values() if r["user_id"] == uid]
        assert any(
            r["campus_id"] == entry["new"] and r["is_primary"] and r["created_at"] == entry["at"]
            for r in rows
        ) or (entry["old"] is None and any(r["campus_id"] == entry["new"] for r in rows))
    for entry in changes:
        if entry["kind"] == "entered_scope" and entry["old"] is not None:  # a transfer
            assert entry["old"] != entry["new"]

    for aid, entry in last_of(changes, "achievement_earned").items():
        record = dumps["achievements_users"][aid]
        assert record["achievement_id"] == entry["new"] and record["created_at"] == entry["at"]
    coalitions_users = dumps["coalitions_users"]
    for mid, entry in last_of(changes, "coalition_joined").items():
        if mid in coalitions_users:
            assert coalitions_users[mid]["coalition_id"] == entry["new"]
    for mid, entry in last_of(changes, "coalition_score_changed").items():
        if mid in coalitions_users:
            assert coalitions_users[mid]["score"] == entry["new"]
    joined = last_of(changes, "coalition_joined")
    for mid, entry in last_of(changes, "coalition_left").items():
        if mid in coalitions_users:  # moved: it joined its new coalition at the same time
            assert joined[mid]["seq"] > entry["seq"] and joined[mid]["at"] == entry["at"]
        else:
            assert mid not in joined or joined[mid]["seq"] < entry["seq"]  # deleted
    for pid in last_of(changes, "project_unregistered"):
        assert pid not in projects_users
    for pid, entry in last_of(changes, "project_edited").items():
        assert dumps["projects"][pid]["difficulty"] == entry["new"]


def test_memberships_move_to_another_coalition_of_their_bloc(history) -> None:
    """A move keeps the membership's id and changes its coalition: a coalition_left and a
    coalition_joined of the same id at the same time, both visible (updated_at moved)."""
    changes = history["changes"]
    blocs = {
        c["id"]: {m["id"] for m in bloc["coalitions"]}
        for bloc in history["admin"].dump("blocs")
        for c in bloc["coalitions"]
    }
    moves = [
        (left, joined)
        for left, joined in pairwise(changes)
        if (left["kind"], joined["kind"]) == ("coalition_left", "coalition_joined")
        and left["subject_id"] == joined["subject_id"]
    ]
    assert moves, "some memberships moved"
    for left, joined in moves:
        assert not left["silent"] and not joined["silent"] and left["at"] == joined["at"]
        assert joined["new"] in blocs[left["old"]] and joined["new"] != left["old"]


def test_a_validation_moves_the_blackhole_in_the_level_change(history) -> None:
    changes = history["changes"]
    moved = [e for e in changes if e["kind"] == "blackhole_changed"]
    assert moved
    validated_users = {e["user_id"] for e in changes if e["kind"] == "project_validated"}
    for entry in moved:
        level = changes[entry["seq"] - 2]  # the entry just before
        assert level["kind"] == "level_changed"
        assert (level["subject_id"], level["at"]) == (entry["subject_id"], entry["at"])
        old = datetime.fromisoformat(entry["old"])
        assert datetime.fromisoformat(entry["new"]) - old == timedelta(days=14)
        assert entry["user_id"] in validated_users


def test_silent_entries_are_exactly_the_silent_changes(history) -> None:
    logged = {(e["subject"] + "s", e["subject_id"]) for e in history["changes"] if e["silent"]}
    silent = {(name, rid) for name, ids in history["silent"].items() for rid in ids}
    assert logged == silent
    assert {e["kind"] for e in history["changes"] if e["silent"]} <= {
        "project_finished",
        "project_unregistered",
        "coalition_left",
        "anonymized",
        "location_deleted",
    }


def test_after_returns_the_entries_past_a_seq(history) -> None:
    admin, changes = history["admin"], history["changes"]
    middle = history["marks"][1][0]
    assert admin.changes(after=middle) == changes[middle:]
    assert admin.changes(after=len(changes)) == []
    assert admin.changes(0) == changes


def test_an_admission_enters_the_scope_and_registers(history) -> None:
    uid = history["admitted"]["user"]["id"]
    first = history["changes"][:2]
    assert [e["kind"] for e in first] == ["entered_scope", "project_registered"]
    assert all(e["user_id"] == uid for e in first)
    scope = first[0]
    assert scope["old"] is None and scope["at"] == history["admitted"]["created_at"]
    primary = [
        r
        for r in history["dumps"]["campus_users"].values()
        if r["user_id"] == uid and r["is_primary"]
    ]
    assert scope["new"] in {r["campus_id"] for r in primary}


# -- the log changes nothing else -----------------------------------------------------------

# The tiny seed-42 world below, with ``cursus_users.blackholed_at`` left out: the same as
# before the change log and the blackhole extension existed, apart from one deliberate change
# since (an arriving student's already-marked projects are marked at the arrival, not in the
# future), and more: staff move a few memberships to another coalition of their bloc
# (drawn after everything else); registrations carry a team per earlier attempt, students
# retry failed projects, and people's sessions at campus (locations) came (each from its own
# stream: test_same_world.py shows that the records that were there stayed as they were). A
# deliberate change to how the simulator evolves changes it: print ``fingerprint(...)`` and
# update it then.
FINGERPRINT = "52150547d1d7bcea9870329462ca252b24707218e7189f2f78ee323d0f64d817"


class FrozenClock(Clock):
    """Simulated time that only ``advance`` moves (the same stamps on every run)."""

    def time(self) -> float:
        return self._wall0 + self._offset


def advanced_world() -> World:
    data = build_dataset("tiny", 42)
    population, builder = build_population(data, 42, "tiny")
    clock = FrozenClock(datetime(2025, 3, 1, 12, tzinfo=UTC))
    schedule_anonymizations(population, data, clock.now(), 42)
    world = World(data, clock, seed=42, builder=builder)
    for hours in (1, 3, 6, 12, 24):
        world.advance(hours * 3600)
    return world


def without_blackholes(world: World) -> dict[str, list[dict]]:
    dumps = {name: world.store.dump(name) for name in world.store.collections}
    for record in dumps["cursus_users"]:
        record.pop("blackholed_at")
    return dumps


def fingerprint(world: World) -> str:
    text = json.dumps(without_blackholes(world), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_world_evolves_as_before_apart_from_blackholes(monkeypatch) -> None:
    world = advanced_world()
    assert fingerprint(world) == FINGERPRINT

    level = Activity.level
    monkeypatch.setattr(
        Activity, "level", lambda self, uid, mine, **_: level(self, uid, mine, False)
    )
    unextended = advanced_world()
    assert without_blackholes(unextended) == without_blackholes(world)
    moved = last_of(world.store.change_log, "blackhole_changed")
    assert moved
    before = {r["id"]: r["blackholed_at"] for r in unextended.store.dump("cursus_users")}
    for record in world.store.dump("cursus_users"):
        if record["id"] in moved:
            assert record["blackholed_at"] == moved[record["id"]]["new"] != before[record["id"]]
        else:
            assert record["blackholed_at"] == before[record["id"]]
    kept = [
        {k: v for k, v in e.items() if k != "seq"}
        for e in world.store.change_log
        if e["kind"] != "blackhole_changed"
    ]
    assert kept == [{k: v for k, v in e.items() if k != "seq"} for e in unextended.store.change_log]


def test_starting_a_simulator_leaves_no_temporary_directory(tmp_path, monkeypatch) -> None:
    """Its ready file's directory goes once read: hundreds of test starts must not fill /tmp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with SimulatorProcess("tiny", 42, "--per-second", "0", "--per-hour", "0"):
        pass
    assert list(tmp_path.iterdir()) == []
