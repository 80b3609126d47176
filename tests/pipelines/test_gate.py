"""What the publish gate refuses: a build that lost most of a mart. Real runs against the
simulator over HTTP and a real PostgreSQL. (A resource the API stopped answering, its
filter refused, fails alone: tests/pipelines/test_reliability.py, with the other broken
reads of a resource.)"""

from __future__ import annotations

import pytest

from intra_simulator.control import SimulatorProcess

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
