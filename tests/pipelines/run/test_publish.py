"""What the publish gate refuses: a build that fails a test (a bad row from a model, a bad
value from the API) and a build that lost most of a mart. Real runs against the simulator
over HTTP and a real PostgreSQL. (A resource the API stopped answering, its filter refused,
fails alone: tests/pipelines/run/test_reliability.py, with the other broken reads of a
resource.)"""

from __future__ import annotations

import pytest

from intra_simulator.control import SimulatorProcess
from tests.pipelines.run.conftest import converges, history_tables

pytestmark = pytest.mark.integration

GUARD = "assert_no_mart_loses_most_of_its_published_rows"


def published_counts(elt) -> dict[str, int]:
    return {
        name: elt.query(f"select count(*) from marts.{name}")[0][0]
        for name in ("campuses", "users", "projects_users", "campus_projects")
    }


def slip_a_student_at_a_closed_campus_into_the_build(elt, sim: SimulatorProcess) -> int:
    """A bad row in the build schema, as a bug in a model would write it: a user at a closed
    campus, stamped as written by this build (newer than any load: the hourly tests read the
    rows newer than what was published). The foreign-key test users.campus_id -> campuses
    then fails the next build. Returns the row's user id."""
    closed = next(c["id"] for c in sim.admin.dump("campus") if not c["active"])
    return elt.query(
        "insert into marts__build.users select user_id + 100000000, login, first_name, "
        "last_name, usual_full_name, usual_first_name, displayname, email, image_url, "
        "location, kind, %s, pool_month, pool_year, wallet, correction_point, is_active, "
        "is_anonymized, anonymize_date, created_at, updated_at, '9999999999' "
        "from marts__build.users limit 1 returning user_id",
        closed,
    )[0][0]


def status_test_sql(elt) -> str:
    """The SQL dbt last ran for the accepted_values test of projects_users.status."""
    run = elt.data_dir / "dbt-target" / "run"
    return next(run.rglob("accepted_values_projects_users_*.sql")).read_text()


def scoped_to_unpublished_rows(elt) -> bool:
    """Whether that test read the rows newer than the published load (its id, a literal:
    macros/value_when_run.sql), or every row (``> ''``)."""
    published = elt.query("select max(published_load_id) from elt.runs where published")[0][0]
    sql = status_test_sql(elt)
    assert f"_processed_load_id > '{published}'" in sql or "_processed_load_id > ''" in sql
    return f"_processed_load_id > '{published}'" in sql


def test_a_build_that_fails_a_test_is_not_published_and_writes_no_history(make_elt) -> None:
    """After each failed build, consumers still see the last tested marts and history, and
    the run says so and exits 1.

    1. A bad row gets into the build (say, a bug in a model): a user at a closed campus. The
       foreign-key test users.campus_id -> campuses fails; the hours of changes that build
       read are not written to history (the gate runs before it); the next run heals.
    2. Hourly, the tests of the live tables read only the rows not published yet; a bad
       value among them (the API's) still stops the build, as does one in a reference table
       (a new achievement tier: accepted_values, severity error)."""
    with SimulatorProcess("tiny", 42, "--per-second", "20") as sim:
        elt = make_elt(sim)
        assert elt.run().returncode == 0
        assert elt.run().returncode == 0  # marts__build now holds a previous build

        # 1. a bad row from a model, in a build with history to write
        sim.admin.advance(2 * 3600)
        published = {t: elt.table(f"marts.{t}") for t in ("users", "projects_users", "campuses")}
        history = history_tables(elt)
        slip_a_student_at_a_closed_campus_into_the_build(elt, sim)
        failed = elt.run()
        assert failed.returncode == 1, failed.stdout
        assert "FAIL foreign_key_users_campus_id" in failed.stdout
        assert "NOT published" in failed.stdout
        assert {t: elt.table(f"marts.{t}") for t in published} == published
        assert history_tables(elt) == history
        ledger = elt.query("select status, published from elt.runs order by run_id desc limit 1")
        assert ledger == [("failed", False)]
        converges(elt, sim)
        assert history_tables(elt) != history, "the healing run writes the hours' history"

        # 2. bad values from the API, in a live table and in a reference table
        published = elt.table("marts.projects_users")
        row = elt.query("select projects_user_id from marts.projects_users limit 1")[0][0]
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
        assert scoped_to_unpublished_rows(elt), "scoped"
        # (that a full run tests every row: the next test's full run)


def test_a_build_that_would_empty_the_marts_is_not_published_unless_accepted(make_elt) -> None:
    """Most campuses close at once (or the API says so by mistake): the hourly run must not
    publish marts that lost most of their rows, nor a full run (which tests every row, not
    only the unpublished ones); a full run that accepts the shrink does."""
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

        refused = elt.run(command="full")
        assert refused.returncode == 1 and f"FAIL {GUARD}" in refused.stdout
        assert not scoped_to_unpublished_rows(elt), "a full run tests every row"
        assert elt.run("--accept-shrink").returncode == 2, "accepting goes with --full only"

        accepted = elt.run("--accept-shrink", command="full")
        assert accepted.returncode == 0, accepted.stdout
        after = published_counts(elt)
        assert after["campuses"] == 1
        assert after["users"] < before["users"] / 2
