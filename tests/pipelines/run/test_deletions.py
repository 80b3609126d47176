"""What a full run deletes stays deleted in every run after it.

The API has no deletion feed: ``full`` finds the records it no longer lists and loads them as
tombstones. The marts are built on top of the previous build (blue/green), so the deletions
must reach every later build, not only the full run's own."""

from __future__ import annotations

import pytest

from intra_simulator.control import SimulatorProcess
from tests.pipelines.run.conftest import (
    assert_live_marts_match,
    assert_marts_match_oracle,
    silent_ids,
)

pytestmark = pytest.mark.integration

# live mart -> its id column (history keeps one open version per published row)
OPEN_HISTORY = {
    "cursus_users": "cursus_user_id",
    "projects_users": "projects_user_id",
    "achievements_users": "achievements_user_id",
    "coalitions_users": "coalitions_user_id",
}


def assert_open_history_is_the_marts(elt) -> None:
    for mart, key in OPEN_HISTORY.items():
        published = {r[0] for r in elt.query(f"select {key} from marts.{mart}")}
        history = elt.query(f"select {key} from history.{mart} where valid_to is null")
        assert {r[0] for r in history} == published, f"history.{mart}'s open versions"


def test_deletions_found_by_a_full_run_stay_deleted_in_the_hourly_runs_after_it(
    make_elt,
) -> None:
    with SimulatorProcess("tiny", 42, "--per-second", "50") as sim:
        elt = make_elt(sim)
        assert elt.run().returncode == 0
        backfill_load = elt.query("select max(recorded_load_id) from history.events")[0][0]
        students = sorted(r[0] for r in elt.query("select user_id from marts.users"))

        # A membership moves to another coalition (an hourly run sees it), then the API
        # deletes it: two coalition_left events of one membership, both kept.
        moved, coalition = elt.query(
            "select coalitions_user_id, coalition_id from marts.coalitions_users "
            "order by 1 desc limit 1"
        )[0]
        other = elt.query(
            "select coalition_id from marts.coalitions where coalition_id != %s limit 1",
            coalition,
        )[0][0]
        sim.admin.update("coalitions_users", moved, {"coalition_id": other})
        assert elt.run().returncode == 0
        # One of each kind of deletion: registrations, an achievement, a membership, and
        # an enrolment (its student leaves the scope, with all their rows).
        deleted = {
            "projects_users": [
                r[0]
                for r in elt.query(
                    "select projects_user_id from marts.projects_users order by 1 limit 3"
                )
            ],
            "achievements_users": [
                r[0]
                for r in elt.query(
                    "select achievements_user_id from marts.achievements_users order by 1 limit 1"
                )
            ],
            "coalitions_users": [
                r[0]
                for r in elt.query(
                    "select coalitions_user_id from marts.coalitions_users order by 1 limit 1"
                )
            ]
            + [moved],
            "cursus_users": [
                r[0]
                for r in elt.query(
                    "select cursus_user_id from marts.cursus_users where user_id = %s", students[-1]
                )
            ],
        }
        for collection, ids in deleted.items():
            for record_id in ids:
                sim.admin.delete(collection, record_id)
        sim.admin.advance(3600)

        full = elt.run(command="full")
        assert full.returncode == 0, full.stdout
        assert_live_marts_match(elt, sim)
        assert_open_history_is_the_marts(elt)
        sim.admin.call("DELETE", "silent")
        left = elt.query(
            "select subject_id, old_value, is_backfill from marts.events "
            "where kind = 'coalition_left' order by event_id"
        )
        assert (moved, str(coalition), False) in left, "the move"
        assert (moved, str(other), False) in left, "the deletion after the move"
        for membership in deleted["coalitions_users"]:
            assert any(e[0] == membership and not e[2] for e in left), "a deletion, not backfill"

        # after the full run: a run with nothing new, one with an hour of changes,
        # one with nothing new again
        for hours in (0, 1, 0):
            if hours:
                sim.admin.advance(hours * 3600)
            hourly = elt.run()
            assert hourly.returncode == 0, hourly.stdout
            for mart, ids in deleted.items():
                key = OPEN_HISTORY[mart]
                back = elt.query(f"select {key} from marts.{mart} where {key} = any(%s)", ids)
                assert back == [], f"deleted rows of marts.{mart} came back"
            assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
            assert_marts_match_oracle(elt, sim)
            assert_open_history_is_the_marts(elt)

        # is_backfill: exactly the events the first build recorded, whatever their kind
        flags = elt.query(
            "select kind, is_backfill, recorded_load_id = %s, count(*) from history.events "
            "group by 1, 2, 3 order by 1, 2, 3",
            backfill_load,
        )
        assert [f for f in flags if f[1] != f[2]] == [], flags
        assert {f[0] for f in flags if not f[1]} >= {"coalition_left", "coalition_joined"}

        # the readable feed: the same events, with names and typed values
        named = elt.query(
            "select e.event_id, e.kind, e.new_value, n.project_name, n.final_mark,"
            " n.coalition_name, n.coalition_id, n.achievement_name, n.campus_name"
            " from marts.events as e join marts.events_named as n using (event_id)"
        )
        assert len(named) == elt.query("select count(*) from marts.events")[0][0]
        for _, kind, new_value, project, mark, coalition, coalition_id, achievement, _ in named:
            if kind == "project_validated":
                assert project and mark == int(new_value)
            if kind == "coalition_joined":
                assert coalition and coalition_id == int(new_value)
            if kind == "achievement_earned":
                assert achievement
        assert all(row[8] for row in named), "every event names its campus"
