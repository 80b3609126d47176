"""History and the event feed over several simulated hours, against the simulator's own log
of every change it made: hourly runs, a run killed while it writes history, and a
full run (a build that fails its tests writes none: test_publish.py). Real PostgreSQL,
the simulator over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.config import dbt_project_var
from tests.conftest import REPO

pytestmark = pytest.mark.integration

# The kinds the API makes visible, with what identifies one in the simulator's log.
# (left_scope has no entry of its own in the simulator's log; its location_* entries are
# no event kind, so they are left out.)
EVENT_KINDS = set(dbt_project_var("event_kinds")) - {"left_scope"}
# Several changes of these between two runs are one change for a reader of the API.
COALESCED = {"level_changed", "blackhole_changed", "entered_scope"}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def same_value(kind: str, ours: str | None, theirs: object) -> bool:
    if theirs is None or ours is None:
        return ours is None and theirs is None
    if kind == "level_changed":
        return abs(float(ours) - float(theirs)) < 1e-9
    if kind == "blackhole_changed":
        return when(ours) == when(str(theirs))
    return ours == str(theirs)


def run_killed_while_writing_history(elt) -> None:
    """Start a run and SIGKILL it (with its dbt) once dbt has written a first history
    table, before the event log and the publish."""
    argv = elt.argv()
    log = elt.data_dir / "logs" / "dbt-build.log"
    log.unlink(missing_ok=True)
    victim = subprocess.Popen(
        argv,
        cwd=REPO,
        env=elt.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: dbt dies with it
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and victim.poll() is None:
        if log.exists() and "OK created sql incremental model history." in log.read_text():
            break
        time.sleep(0.05)
    assert victim.poll() is None, "the run ended before it wrote history"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()


def test_events_follow_the_simulators_log_through_hours_a_kill_and_a_full_run(
    make_elt,
) -> None:
    with SimulatorProcess("tiny", 42, "--per-second", "50") as sim:
        elt = make_elt(sim)
        backfill = elt.run()
        assert backfill.returncode == 0, backfill.stdout
        first_students = {row[0] for row in elt.query("select user_id from marts.users")}
        backfilled = elt.query(
            "select kind, count(*) from marts.events where is_backfill group by kind"
        )
        assert {kind for kind, _ in backfilled} >= {"project_registered", "entered_scope"}
        seen = len(sim.admin.changes())  # the log before the first hour (the admissions' own)

        # A student leaves (the intra marks them alumni), and comes back a run later.
        returning = min(first_students)
        sim.admin.update("users", returning, {"alumni?": True})
        sim.admin.advance(2 * 3600)
        assert elt.run().returncode == 0
        sim.admin.update("users", returning, {"alumni?": False})
        sim.admin.advance(2 * 3600)

        # (A build that fails its tests writes no history: test_publish.py.)
        # Killed after a first history table was written: the next run records the rest once
        # (the comparison with the log below finds no event twice). That a run with nothing
        # new records nothing: test_reference_marts' second run.
        run_killed_while_writing_history(elt)
        healed = elt.run()
        assert healed.returncode == 0, healed.stdout

        # Two more hours, read by the full run itself.
        sim.admin.advance(2 * 3600)
        full_from = elt.query("select coalesce(max(event_id), 0) from marts.events")[0][0]
        full = elt.run(command="full")
        assert full.returncode == 0, full.stdout
        came_back = elt.query(
            "select kind from marts.events where user_id = %s and subject = 'user' "
            "and not is_backfill order by event_id",
            returning,
        )
        assert came_back == [("became_alumni",), ("entered_scope",)]
        # their rows' versions continue where they stopped, dated by the run that saw them
        # come back where their updated_at did not move; the dbt tests checked no overlap
        resumed = elt.query(
            "select valid_from_source from history.projects_users "
            "where user_id = %s and valid_to is null and version > 1",
            returning,
        )
        assert ("load",) in resumed, resumed

        log = [c for c in sim.admin.changes()[seen:] if c["kind"] in EVENT_KINDS]
        students = {row[0] for row in elt.query("select user_id from marts.users")} - {returning}
        entered = {c["user_id"] for c in log if c["kind"] == "entered_scope"}
        # the marts keep the rows of the projects, achievements and coalitions they publish
        published = {
            "projects_user": {r[0] for r in elt.query("select project_id from marts.projects")},
            "achievements_user": {
                r[0] for r in elt.query("select achievement_id from marts.achievements")
            },
            "coalitions_user": {
                r[0] for r in elt.query("select coalition_id from marts.coalitions")
            },
        }
        points_at = {
            "projects_user": {
                r["id"]: r["project"]["id"] for r in sim.admin.dump("projects_users")
            },
            "achievements_user": {
                r["id"]: r["achievement_id"] for r in sim.admin.dump("achievements_users")
            },
            "coalitions_user": {
                r["id"]: r["coalition_id"] for r in sim.admin.dump("coalitions_users")
            },
        }
        events = elt.query(
            "select event_id, kind, user_id, subject_id, old_value, new_value, occurred_at, "
            "occurred_at_source, is_late from marts.events where not is_backfill "
            "order by event_id"
        )

    # Whom the mirror follows: the students in scope at the end; and for became_alumni, the
    # students it followed before they left.
    followed = (first_students | entered) - {returning}

    def ours(kind: str) -> list[tuple]:
        return [
            e
            for e in events
            if e[1] == kind and (e[2] in students or (kind == "became_alumni" and e[2] in followed))
        ]

    def in_published_marts(change: dict) -> bool:
        subject = change["subject"]
        if subject not in published:
            return True
        reference = points_at[subject].get(change["subject_id"])
        if reference is None:  # deleted since: the log names what it pointed at
            reference = change["old"] if change["kind"] == "coalition_left" else change["new"]
        return reference in published[subject]

    def theirs(kind: str) -> list[dict]:
        return [
            c
            for c in log
            if c["kind"] == kind
            and in_published_marts(c)
            and (c["user_id"] in students or (kind == "became_alumni" and c["user_id"] in followed))
        ]

    compared = Counter()
    for kind in sorted(EVENT_KINDS):
        mine, logged = ours(kind), theirs(kind)
        assert {e[3] for e in mine} == {c["subject_id"] for c in logged}, kind
        if kind not in COALESCED:  # one event per change, none twice
            assert len(mine) == len(logged) == len({e[3] for e in mine}), kind
        last_logged = {c["subject_id"]: c for c in logged}
        last_mine = {e[3]: e for e in mine}
        for subject, change in last_logged.items():
            event = last_mine[subject]
            if kind not in ("became_alumni", "coalition_left"):
                assert same_value(kind, event[5], change["new"]), (event, change)
            if change["silent"]:
                # not seen by the hourly runs: found by the full run, dated by it, late
                assert event[0] > full_from and event[8] and event[7] == "load", event
                compared["late"] += 1
            elif kind not in ("became_alumni", "entered_scope"):
                assert event[7] == "api" and event[6] == when(change["at"]), (event, change)
        compared[kind] = len(mine)
    ids = [e[0] for e in events]
    assert ids == sorted(set(ids))
    # the hours did bring each kind of change
    # (retries are rare: a tenth of the rate of marks)
    rare = {"project_failed", "coalition_left", "project_retried"}
    assert all(compared[k] for k in EVENT_KINDS - rare), compared
    assert compared["late"], "the full run found changes the hourly runs missed"
