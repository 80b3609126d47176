"""What the publish gate refuses: a build that lost most of a mart, a resource the API
stopped answering. Real runs against the simulator over HTTP and a real PostgreSQL."""

from __future__ import annotations

import pytest

from intra_simulator.control import SimulatorProcess
from tests.pipelines.test_live import assert_live_marts_match
from tests.pipelines.test_reliability import silent

pytestmark = pytest.mark.integration

GUARD = "assert_no_mart_loses_most_of_its_published_rows"


def published_counts(elt) -> dict[str, int]:
    return {
        name: elt.query(f"select count(*) from marts.{name}")[0][0]
        for name in ("campuses", "users", "projects_users", "campus_projects")
    }


def test_a_build_that_would_empty_the_marts_is_not_published_unless_accepted(make_elt) -> None:
    """Most campuses close at once (or the API says so by mistake): the hourly run must not
    publish marts that lost most of their rows; a reconciliation run that accepts the shrink
    does."""
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        assert elt.run().returncode == 0
        before = published_counts(elt)
        kept = [c for c in sim.admin.dump("campus") if c["active"] and c["public"]]
        assert len(kept) >= 3
        for campus in kept[1:]:
            sim.admin.update("campus", campus["id"], {"active": False})

        hourly = elt.run()
        assert hourly.returncode == 1, hourly.stdout
        assert f"FAIL {GUARD}" in hourly.stdout, hourly.stdout
        assert "NOT published" in hourly.stdout
        assert published_counts(elt) == before, "marts keep their last tested state"

        refused = elt.run("--full")
        assert refused.returncode == 1 and f"FAIL {GUARD}" in refused.stdout
        assert elt.run("--accept-shrink").returncode == 2, "accepting goes with --full only"

        accepted = elt.run("--full", "--accept-shrink")
        assert accepted.returncode == 0, accepted.stdout
        after = published_counts(elt)
        assert after["campuses"] == 1
        assert after["users"] < before["users"] / 2


def test_a_filter_the_api_stops_accepting_fails_its_resource_alone_and_says_which(
    make_elt,
) -> None:
    """The API refuses projects_users' filter[campus] (400 Filter Error): that resource fails
    with the parameter and the API's words and keeps its table; the others load and their
    marts are published. Its state did not advance: once the API accepts the filter again,
    the next run reads the changes of the refused run's window and the marts converge."""
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        assert elt.run().returncode == 0
        sim.admin.advance(6 * 3600)
        raw = "select id, status, final_mark, updated_at from raw.projects_users order by id"
        before = elt.query(raw)
        sim.admin.faults({"kind": "refuse", "path": "/v2/projects_users", "param": "filter[campus]",
                          "after": 0})  # fmt: skip

        refused = elt.run()
        assert refused.returncode == 1, refused.stdout
        line = next(x for x in refused.stdout.splitlines() if "ERROR projects_users:" in x)
        assert "the API refused filter[campus] (400 Filter Error: Attributes campus" in line
        assert "state did not advance" in line
        assert elt.query(raw) == before, "not one record of the refused resource was loaded"
        resources = elt.query("select resources from elt.runs order by run_id desc limit 1")[0][0]
        assert resources["users"]["status"] == "ok" and resources["users"]["read"] > 0
        assert "published: schema marts" in refused.stdout, "the others' marts are published"

        sim.admin.clear_faults()
        healed = elt.run()
        assert healed.returncode == 0, healed.stdout
        assert_live_marts_match(elt, sim, exclude=silent(sim))
