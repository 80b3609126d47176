"""A registration's teams are its attempts: ``occurrence`` k means k earlier, failed teams and
the current one, and a retry adds a team (docs/simulator.md, retries)."""

from __future__ import annotations

import pytest

from intra_simulator.population import EARLIER_TEAM_IDS, FAILING_MARKS, RETRY_TEAM_IDS
from tests.intra_simulator.test_same_world import new_world

CURRENT_TEAM_IDS = 4_000_000


def check_attempts(record: dict) -> None:
    """The teams of a served registration agree with its occurrence."""
    teams, occurrence = record["teams"], record["occurrence"]
    assert len(teams) == occurrence + 1
    assert [[m["occurrence"] for m in t["users"]] for t in teams] == [
        [attempt] for attempt in range(occurrence + 1)
    ]
    assert teams[-1]["id"] == record["current_team_id"]
    created = [t["created_at"] for t in teams]
    assert created == sorted(created), "attempts in the order they were made"
    for earlier in teams[:-1]:  # failed, closed, with their own mark
        assert earlier["status"] == "finished" and earlier["closed?"]
        assert earlier["validated?"] is False and earlier["final_mark"] is not None
        assert earlier["users"][0]["validated"] is False


@pytest.fixture(scope="module")
def world():
    return new_world()


def test_generated_registrations_have_a_team_per_attempt(world) -> None:
    records = world.store.dump("projects_users")
    assert {r["occurrence"] for r in records} == {0, 1, 2}
    for record in records:
        check_attempts(record)
        for earlier in record["teams"][:-1]:
            assert EARLIER_TEAM_IDS <= earlier["id"] < CURRENT_TEAM_IDS
            assert earlier["final_mark"] in (*FAILING_MARKS, -42)
        assert CURRENT_TEAM_IDS <= record["current_team_id"] < RETRY_TEAM_IDS
    earlier_ids = [t["id"] for r in records for t in r["teams"][:-1]]
    assert len(earlier_ids) == len(set(earlier_ids))


def test_students_retry_failed_projects_and_get_a_new_mark() -> None:
    world = new_world()
    projects_users = world.store.collections["projects_users"]
    retried, marked_again = set(), set()
    for _ in range(8):
        seen = len(world.store.change_log)
        world.advance(24 * 3600)
        for entry in world.store.change_log[seen:]:
            record = projects_users.rows.get(entry["subject_id"])
            if entry["kind"] == "project_retried":
                served = projects_users.render(record)
                assert entry["new"] == entry["old"] + 1 == served["occurrence"]
                assert entry["at"] == served["updated_at"] and not entry["silent"]
                assert (served["status"], served["validated?"], served["final_mark"]) == (
                    "in_progress",
                    None,
                    None,
                )
                assert not served["marked"] and served["marked_at"] is None
                current = served["teams"][-1]
                assert current["id"] >= RETRY_TEAM_IDS and current["status"] == "in_progress"
                assert current["created_at"] == entry["at"]
                check_attempts(served)
                retried.add(record["id"])
            elif entry["kind"] == "project_finished" and entry["subject_id"] in retried:
                marked_again.add(entry["subject_id"])
    assert retried and marked_again
    for record in world.store.dump("projects_users"):
        check_attempts(record)
        if record["id"] in marked_again and record["status"] == "finished":
            assert record["teams"][-1]["final_mark"] == record["final_mark"]
