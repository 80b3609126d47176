"""Locations: the history a tiny world starts with has every quirk of the real data, and time
passing begins, closes, mass-closes and deletes sessions, each change logged
(docs/simulator.md, locations). Pure Python: the HTTP side is test_locations_http.py."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest

from intra_simulator import locations
from intra_simulator.generate import MAIN_CURSUS_ID, iso
from tests.intra_simulator.test_same_world import new_world

START = "2026-10-27T12:00:00.000Z"  # new_world's clock
STORED = {"id", "begin_at", "end_at", "primary", "host", "campus_id", "user_id", "_planned_end"}


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def end_of(session: dict) -> str:
    """When a session ends: its end, its planned end, or never."""
    return session["end_at"] or session.get("_planned_end") or "9999"


def overlaps(first: dict, second: dict) -> bool:
    return first["begin_at"] < end_of(second) and second["begin_at"] < end_of(first)


def by_user(rows) -> dict[int, list[dict]]:
    sessions = defaultdict(list)
    for row in rows:
        sessions[row["user_id"]].append(row)
    return sessions


@pytest.fixture(scope="module")
def world():
    return new_world()


@pytest.fixture(scope="module")
def rows(world) -> list[dict]:
    return list(world.store.collections["locations"].rows.values())


def pairs(rows, keep) -> list[tuple[dict, dict]]:
    """The pairs of one user's sessions for which ``keep(earlier, later)`` holds."""
    found = []
    for sessions in by_user(rows).values():
        ordered = sorted(sessions, key=lambda s: (s["begin_at"], s["id"]))
        found += [(a, b) for a, b in combinations(ordered, 2) if keep(a, b)]
    return found


def test_the_history_covers_the_35_days_before_the_start(rows) -> None:
    window = iso(parse(START) - timedelta(days=locations.HISTORY_DAYS))
    assert rows and all(window <= r["begin_at"] < START for r in rows)
    assert all(set(r) <= STORED for r in rows)


def test_sessions_still_open_now_and_forgotten_ones(rows) -> None:
    open_now = [r for r in rows if r["end_at"] is None and r["_planned_end"]]
    forgotten = [r for r in rows if r["end_at"] is None and r["_planned_end"] is None]
    assert len(open_now) >= 2 and all(r["_planned_end"] > START for r in open_now)
    assert len(forgotten) >= 2
    days_ago = [parse(START) - parse(r["begin_at"]) for r in forgotten]
    assert all(timedelta(days=2) <= age <= timedelta(days=10) for age in days_ago)
    assert all("_planned_end" not in r for r in rows if r["end_at"] is not None)


def duplicate(a: dict, b: dict) -> bool:
    return (a["host"], a["begin_at"], a["end_at"]) == (b["host"], b["begin_at"], b["end_at"])


def nested(a: dict, b: dict) -> bool:
    """``b``, at another seat, lies inside ``a``."""
    closed = a["end_at"] and b["end_at"]
    return (
        bool(closed)
        and a["host"] != b["host"]
        and a["begin_at"] < b["begin_at"]
        and (b["end_at"] < a["end_at"])
    )


def overlapping(a: dict, b: dict) -> bool:
    """``b``, at another seat, begins inside ``a`` and ends after it."""
    closed = a["end_at"] and b["end_at"]
    return (
        bool(closed)
        and a["host"] != b["host"]
        and (a["begin_at"] < b["begin_at"] < a["end_at"] < b["end_at"])
    )


def test_overlapping_nested_and_duplicate_sessions(rows) -> None:
    primary = [r for r in rows if r["primary"]]
    duplicates, inside, across = (pairs(primary, keep) for keep in (duplicate, nested, overlapping))
    assert len(duplicates) >= 2 and all(a["id"] != b["id"] for a, b in duplicates)
    assert len(inside) >= 2 and len(across) >= 2
    assert all(a["campus_id"] == b["campus_id"] for a, b in inside + across)


def test_sessions_that_are_not_primary(rows) -> None:
    secondary = [r for r in rows if not r["primary"]]
    assert 0.10 <= len(secondary) / len(rows) <= 0.15
    mine = by_user(rows)
    second_logins = [
        s
        for s in secondary
        if any(
            p["primary"] and p["host"] != s["host"] and overlaps(p, s) for p in mine[s["user_id"]]
        )
    ]
    assert len(second_logins) >= 2 and len(secondary) - len(second_logins) >= 2


def test_sessions_crossing_local_midnight(world, rows) -> None:
    zones = {c["id"]: ZoneInfo(c["time_zone"]) for c in world.store.dump("campus")}

    def local_day(row: dict, key: str):
        return parse(row[key]).astimezone(zones[row["campus_id"]]).date()

    crossing = [
        r for r in rows if r["end_at"] and local_day(r, "begin_at") != local_day(r, "end_at")
    ]
    assert len(crossing) >= 2
    hours = [parse(r["begin_at"]).astimezone(zones[r["campus_id"]]).hour for r in rows]
    assert sum(9 <= h <= 23 for h in hours) / len(hours) > 0.8, "mostly local daytime"


def test_staff_and_pisciners_have_sessions_too(world, rows) -> None:
    users = world.store.collections["users"].rows
    cursus = defaultdict(set)
    for row in world.store.collections["cursus_users"].rows.values():
        cursus[row["user_id"]].add(row["cursus_id"])
    visitors = {r["user_id"] for r in rows}
    assert sum(users[u]["staff?"] for u in visitors) >= 2
    assert sum(MAIN_CURSUS_ID not in cursus[u] and not users[u]["staff?"] for u in visitors) >= 2


def test_ids_are_no_time_cursor(rows) -> None:
    ordered = sorted(rows, key=lambda r: (r["begin_at"], r["user_id"]))
    out_of_order = sum(
        a != b
        for a, b in zip([r["id"] for r in ordered], sorted(r["id"] for r in rows), strict=True)
    )
    assert 2 <= out_of_order <= 0.06 * len(rows)


def test_durations_and_hosts_look_real(world, rows) -> None:
    hours = sorted(
        (parse(r["end_at"]) - parse(r["begin_at"])) / timedelta(hours=1)
        for r in rows
        if r["end_at"] and r["primary"]
    )
    assert 1.3 <= statistics.median(hours) <= 2.4 and hours[-1] <= locations.MAX_HOURS
    patterns = {
        re.sub(r"\d+", "9", r["host"]): r["campus_id"] for r in rows
    }  # a seat name with its numbers blurred names one campus style
    assert len(set(patterns.values())) >= 3


def never_at_two_campuses_at_once(rows) -> None:
    clashes = pairs(rows, lambda a, b: a["campus_id"] != b["campus_id"] and overlaps(a, b))
    assert not clashes, clashes[:2]


def test_no_one_is_at_two_campuses_at_once(rows) -> None:
    never_at_two_campuses_at_once(rows)


# -- time passing ---------------------------------------------------------------------------


def advanced(days: int, step_hours: int = 12):
    """A fresh tiny world and, per advance, its end and the log entries it added."""
    world = new_world()
    steps = []
    for _ in range(days * 24 // step_hours):
        seen = len(world.store.change_log)
        report = world.advance(step_hours * 3600)
        steps.append((iso(world.clock.now()), world.store.change_log[seen:], report))
    return world, steps


def test_sessions_begin_and_end_as_time_passes() -> None:
    world, steps = advanced(days=4)
    rows = world.store.collections["locations"].rows
    begun = ended = 0
    previous_end = START
    for end, entries, report in steps:
        kinds = [e["kind"] for e in entries if e["subject"] == "location"]
        assert report["changed"].get("locations", 0) == kinds.count("location_begun") + kinds.count(
            "location_ended"
        )
        for entry in entries:
            record = rows.get(entry["subject_id"])
            if entry["kind"] == "location_begun":
                begun += 1
                assert previous_end <= entry["at"] == entry["new"] <= end and not entry["silent"]
                assert record is None or record["begin_at"] == entry["at"]
            elif entry["kind"] == "location_ended":
                ended += 1
                assert entry["at"] == entry["new"] <= end
                assert record is None or record["end_at"] == entry["at"]
        for record in rows.values():  # still open: not planned to end by the advance's end
            if record["end_at"] is None and record.get("_planned_end"):
                assert record["_planned_end"] > end
        previous_end = end
    assert begun >= 10 and ended >= 10
    never_at_two_campuses_at_once(rows.values())


def test_staff_close_every_open_session_of_a_campus_at_once(monkeypatch) -> None:
    monkeypatch.setattr(locations, "END_ALL_RATE", 2.0)
    before = new_world()
    forgotten = {
        r["id"]
        for r in before.store.collections["locations"].rows.values()
        if r["end_at"] is None and r["_planned_end"] is None
    }
    world, steps = advanced(days=1, step_hours=6)
    rows = world.store.collections["locations"].rows
    closed_forgotten = [rows[i] for i in forgotten if rows[i]["end_at"]]
    assert closed_forgotten, "only an end_all closes a forgotten session"
    ended = [e for _, entries, _ in steps for e in entries if e["kind"] == "location_ended"]
    for record in closed_forgotten:
        instant, campus = record["end_at"], record["campus_id"]
        at_once = {e["subject_id"] for e in ended if e["at"] == instant}
        assert {
            r["id"] for r in rows.values() if r["campus_id"] == campus and r["end_at"] == instant
        } == at_once
        open_then = [
            r["id"]
            for r in rows.values()
            if r["campus_id"] == campus and r["begin_at"] <= instant < end_of(r)
        ]
        assert not open_then, "every session open at that instant closed at it"


def test_the_intra_deletes_bogus_sessions_silently(monkeypatch) -> None:
    monkeypatch.setattr(locations, "DELETE_RATE", 1.0)
    world, steps = advanced(days=1, step_hours=6)
    deleted = [e for _, entries, _ in steps for e in entries if e["kind"] == "location_deleted"]
    assert deleted and all(e["silent"] for e in deleted)
    rows = world.store.collections["locations"].rows
    assert all(e["subject_id"] not in rows for e in deleted)
    assert {e["subject_id"] for e in deleted} <= world.store.silent["locations"]
    assert sum(r["silent"].get("locations", 0) for _, _, r in steps) == len(deleted)


def test_sessions_recorded_twice(monkeypatch) -> None:
    monkeypatch.setitem(locations.CASES, "duplicate", 1.0)
    world, steps = advanced(days=1, step_hours=12)
    rows = world.store.collections["locations"].rows
    begun = [
        rows[e["subject_id"]]
        for _, entries, _ in steps
        for e in entries
        if e["kind"] == "location_begun" and e["subject_id"] in rows
    ]
    copies = defaultdict(list)
    for row in begun:
        copies[(row["user_id"], row["host"], row["begin_at"], row["end_at"])].append(row["id"])
    assert any(len(ids) == 2 for ids in copies.values())
