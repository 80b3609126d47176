"""What the publish gate refuses: a build that fails a test (a bad row from a model, a bad
value from the API) and a build that lost most of a mart. Real runs against the simulator
over HTTP and a real PostgreSQL. (A resource the API stopped answering, its filter refused,
fails alone: tests/pipelines/test_reliability.py, with the other broken reads of a
resource.)"""

from __future__ import annotations

import pytest

from intra_simulator.control import SimulatorProcess
from tests.conftest import slip_a_student_at_a_closed_campus_into_the_build
from tests.pipelines.test_reliability import converges

pytestmark = pytest.mark.integration

GUARD = "assert_no_mart_loses_most_of_its_published_rows"


def published_counts(elt) -> dict[str, int]:
    return {
        name: elt.query(f"select count(*) from marts.{name}")[0][0]
        for name in ("campuses", "users", "projects_users", "campus_projects")
    }


def status_test_sql(elt) -> str:
    """The SQL dbt last ran for the accepted_values test of projects_users.status."""
    run = elt.data_dir / "dbt-target" / "run"
    return next(run.rglob("accepted_values_projects_users_*.sql")).read_text()


def test_builds_that_fail_a_test_or_lose_most_of_a_mart_are_not_published(make_elt) -> None:
    """One deployment through every build the gate must stop; after each, consumers still
    see the last tested marts, and the run says so and exits 1.

    1. A bad row gets into the build (say, a bug in a model): a user at a closed campus. The
       foreign-key test users.campus_id -> campuses fails; the next run heals.
    2. Hourly, the tests of the live tables read only the rows not published yet; a bad
       value among them (the API's) still stops the build, as does one in a reference table
       (a new achievement tier: accepted_values, severity error); a full run tests every row.
    3. Most campuses close at once (or the API says so by mistake): the hourly run must not
       publish marts that lost most of their rows; a reconciliation that accepts the shrink
       does."""
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        assert elt.run().returncode == 0
        assert elt.run().returncode == 0  # marts__build now holds a previous build

        # 1. a bad row from a model
        published = {t: elt.table(f"marts.{t}") for t in ("users", "projects_users", "campuses")}
        slip_a_student_at_a_closed_campus_into_the_build(elt, sim)
        failed = elt.run()
        assert failed.returncode == 1, failed.stdout
        assert "FAIL foreign_key_users_campus_id" in failed.stdout
        assert "NOT published" in failed.stdout
        assert {t: elt.table(f"marts.{t}") for t in published} == published
        ledger = elt.query("select status, published from elt.runs order by run_id desc limit 1")
        assert ledger == [("failed", False)]
        converges(elt, sim)

        # 2. bad values from the API, in a live table and in a reference table
        published = elt.table("marts.projects_users")
        row = elt.query("select projects_user_id from marts.projects_users limit 1")[0][0]
        status = next(r["status"] for r in sim.admin.dump("projects_users") if r["id"] == row)
        sim.admin.update("projects_users", row, {"status": "parked_by_the_api"})
        kept_names = {
            c["name"].strip() for c in sim.admin.dump("campus") if c["active"] and c["public"]
        }
        offered = next(
            a
            for a in sim.admin.dump("achievements")
            if {n.strip() for n in a["campus"]} & kept_names
        )
        sim.admin.update("achievements", offered["id"], {"tier": "legendary"})
        failed = elt.run()
        assert failed.returncode == 1, failed.stdout
        assert "dbt build: FAILED" in failed.stdout
        assert "FAIL accepted_values_projects_users_status" in failed.stdout
        assert "FAIL accepted_values_achievements_tier" in failed.stdout
        assert "NOT published" in failed.stdout and "done: FAILED" in failed.stdout
        assert elt.table("marts.projects_users") == published
        assert '"elt"."runs"' in status_test_sql(elt), "scoped"
        full = elt.run("--full")
        assert full.returncode == 1, "the full run tests every row and finds it again"
        assert '"elt"."runs"' not in status_test_sql(elt), "every row"

        # 3. a build that would empty the marts (the API's values mended meanwhile)
        sim.admin.update("projects_users", row, {"status": status})
        sim.admin.update("achievements", offered["id"], {"tier": offered["tier"]})
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
