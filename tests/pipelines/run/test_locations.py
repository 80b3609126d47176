"""Campus sessions through the whole run: the per-campus listing when the API refuses a list
of campuses, broken sessions counted and never summed, a campus time zone PostgreSQL does not
know named in the run's output while the rest is published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intra_simulator.control import SimulatorProcess
from tests.pipelines.run.conftest import assert_live_marts_match, silent_ids
from tests.pipelines.run.oracle import expected_live_marts, expected_marts

pytestmark = pytest.mark.integration


def raw_sessions(elt) -> set[int]:
    return {row[0] for row in elt.query("select id from raw.locations where user_id is not null")}


def students_sessions(sim) -> set[int]:
    """Every session of a student (kind student) at a kept campus, as the API serves it."""
    kept = {row[0] for row in expected_marts(sim.admin)["campuses"]}
    return {
        s["id"]
        for s in sim.admin.dump("locations")
        if s["user"] and s["user"]["kind"] == "student" and s["campus_id"] in kept
    }


def test_when_the_api_refuses_a_list_of_campuses_each_campus_is_read_on_its_own(make_elt) -> None:
    with SimulatorProcess("tiny", 42, "--locations-campus-list", "refuse") as sim:
        elt = make_elt(sim)
        run = elt.run("--skip-dbt")
        assert run.returncode == 0, run.stdout
        assert "WARNING locations: the API refused one listing for every kept campus" in run.stdout
        assert "read per campus" in run.stdout
        assert raw_sessions(elt) == students_sessions(sim)
        campuses = len(expected_marts(sim.admin)["campuses"])
        served = sim.admin.stats()["by_path"]
        per_campus = [p for p in served if p.startswith("/v2/campus/") and p.endswith("/locations")]
        assert len(per_campus) == campuses, "each kept campus's own listing"

        sim.admin.reset_stats()
        sim.admin.advance(3600)
        run = elt.run("--skip-dbt")
        assert run.returncode == 0, run.stdout
        assert "/v2/locations" not in sim.admin.stats()["by_path"], "the list is not asked again"
        assert raw_sessions(elt) >= students_sessions(sim) - silent_ids(sim).get("locations", set())


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_broken_sessions_are_counted_never_summed_and_an_unknown_time_zone_is_named(
    make_elt,
) -> None:
    """The API serves four broken sessions: one that loses its campus while open (a campus
    listing cannot return it: the re-read by id does, and the next full run buries it), one
    of no user, one that ends before it begins and one that begins tomorrow (open: a full
    run reads every open session). The runs count them by reason and sum none; a campus gets
    a time zone PostgreSQL does not know: the run names it and publishes the rest."""
    with SimulatorProcess("tiny", 42) as sim:
        elt = make_elt(sim)
        students = expected_live_marts(sim.admin)["users"]
        user = min(students)
        campus = students[user][3]
        now = datetime.fromisoformat(sim.admin.call("GET", "health")["now"])
        session = {"end_at": None, "primary": True, "host": "c1r1p1", "user_id": user}
        losing = {**session, "id": 90_000_000, "campus_id": campus, "begin_at": stamp(now)}
        sim.admin.insert("locations", losing)
        assert elt.run().returncode == 0
        sim.admin.update("locations", losing["id"], {"campus_id": None})
        sim.admin.advance(13 * 3600, activity=False)  # open 13 h: due to be read by id
        now += timedelta(hours=13)
        broken = {
            "no_user": {"campus_id": campus, "user_id": 999_999_999, "begin_at": stamp(now)},
            "ends_before_it_begins": {
                "campus_id": campus,
                "begin_at": stamp(now - timedelta(minutes=30)),
                "end_at": stamp(now - timedelta(hours=1)),
            },
            "begins_after_the_run": {"campus_id": campus, "begin_at": stamp(now + timedelta(1))},
        }
        for i, values in enumerate(broken.values(), start=1):
            sim.admin.insert("locations", {**session, "id": 90_000_000 + i, **values})
        logtime = elt.query("select sum(seconds) from marts.logtime_daily where user_id = %s", user)
        other = next(c for c in sorted(expected_marts(sim.admin)["campuses"]) if c[0] != campus)
        sim.admin.update("campus", other[0], {"time_zone": "Mars/Olympus_Mons"})

        hourly = elt.run()
        assert hourly.returncode == 0, hourly.stdout
        # no campus (read by id), no user and ends before it begins (read by their windows)
        assert "WARN warn_locations_logtime_cannot_count: Got 3 results" in hourly.stdout
        full = elt.run(command="full")
        assert full.returncode == 0, full.stdout
        assert "published" in full.stdout
        # no user, ends before it begins, begins after the run; the one without a campus is
        # no longer in any campus's listing: the full run buried it
        assert "WARN warn_locations_logtime_cannot_count: Got 3 results" in full.stdout
        tombstone = "select _intra_deleted from raw.locations where id = %s"
        assert elt.query(tombstone, losing["id"]) == [(True,)]
        assert (
            f"WARNING campus {other[0]} ({other[1].strip()}): time zone 'Mars/Olympus_Mons' is "
            "unknown to PostgreSQL" in full.stdout
        )
        assert not elt.query("select 1 from marts.logtime_daily where campus_id = %s", other[0]), (
            "no logtime at a campus whose days cannot be cut"
        )
        # nothing of the broken sessions is summed: the student's logtime is what it was, but
        # for the 12 h the session that lost its campus had counted before (capped, then gone)
        after = elt.query("select sum(seconds) from marts.logtime_daily where user_id = %s", user)
        assert after[0][0] - (logtime[0][0] or 0) < 60, "nothing of the broken rows is summed"
        in_mart = {
            row[0]
            for row in elt.query("select location_id from marts.locations where location_id >= 9e7")
        }
        assert in_mart == {90_000_002, 90_000_003}, "no campus, no user: not in the mart"
        assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
