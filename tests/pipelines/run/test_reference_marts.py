"""The whole ELT, as cron runs it, against the simulator over HTTP and a real PostgreSQL."""

from __future__ import annotations

import math

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.config import MARTS
from pipelines.intra.settings import DEFAULT_CURSUS_ID, LIVE_ENDPOINTS, REFERENCE_ENDPOINTS
from tests.conftest import lock_held_by_another_run
from tests.pipelines.run.conftest import HISTORY, assert_marts_match_oracle, mart_rows
from tests.pipelines.run.oracle import unmatched_campus_names

pytestmark = pytest.mark.integration

RAW_TABLES = [f"raw.{name}" for name in {**REFERENCE_ENDPOINTS, **LIVE_ENDPOINTS}]
HISTORY_TABLES = [f"history.{name}" for name in HISTORY]


@pytest.fixture
def sim():
    with SimulatorProcess("tiny", 42) as process:
        yield process


# The marts that count time up to the run's (open campus sessions grow with the clock): a run
# over unchanged data rightly changes them.
COUNTING_TIME = (
    "logtime_daily",
    "campus_monthly",
    "student_progress",
    "campus_logtime_heatmap",
    "campus_presence",
)


def everything(elt) -> dict[str, list[tuple]]:
    marts = [f"marts.{m}" for m in MARTS if m not in COUNTING_TIME]
    return {t: elt.table(t) for t in [*RAW_TABLES, *marts, *HISTORY_TABLES]}


def test_a_full_run_matches_the_oracle_and_later_runs_change_or_replace_nothing(
    sim, make_elt
) -> None:
    """The first run matches the oracle in the minimum calls; a second run over unchanged data
    changes nothing; a third cut short mid-extract replaces nothing; the next one heals."""
    # (dbt's parse from scratch, as a new deployment's first run makes it, is the worker's
    # session parse: conftest's dbt_parsed, with the ELT's own command line.)
    elt = make_elt(sim)
    # Small extract files: every resource of more than 100 records is normalized by two
    # processes (the default, 5,000, splits only the big ones), and the marts still match.
    first = elt.run(SOURCES__DATA_WRITER__FILE_MAX_ITEMS="100")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "\r" not in first.stdout, "plain lines when not on a terminal (cron)"
    assert_marts_match_oracle(elt, sim)
    resources = elt.query("select resources from elt.runs order by run_id desc limit 1")[0][0]
    workers = {name: r["normalize_workers"] for name, r in resources.items()}
    assert workers == {n: 2 if r["read"] > 100 else 1 for n, r in resources.items()}, workers

    # The minimum in answered calls. A 429 may come on top: the client spaces its calls, but
    # the server counts them as it handles them, and on a starved machine a request handled
    # late bunches up with the next (so does network jitter with the real API); the client
    # then waits and asks again.
    served = sim.admin.stats()["by_path"]
    for name, endpoint in REFERENCE_ENDPOINTS.items():
        path = "/v2/" + endpoint.path.format(cursus_id=DEFAULT_CURSUS_ID)
        rows = elt.query(f"select count(*) from raw.{name}")[0][0]
        assert served[path]["200"] == max(1, math.ceil(rows / 100)), f"{name}: minimum calls"
        assert set(served[path]) <= {"200", "429"}, served[path]
    assert served["/oauth/token"]["200"] == 1
    dropped = "select count(*) from intermediate.int_achievement_campuses__matched"
    assert elt.query(dropped + " where campus_id is null") == [(unmatched_campus_names(sim.admin),)]

    stages = elt.query("select stages from elt.runs order by run_id desc limit 1")[0][0]
    assert set(stages) == {"extract", "normalize", "load", "dbt"}, "the ledger times each stage"
    assert all(s["wall"] > 0 and s["cpu"] > 0 for s in stages.values()), stages

    before = everything(elt)
    second = elt.run()
    assert second.returncode == 0, second.stdout + second.stderr
    assert everything(elt) == before, "a second run over unchanged data changes nothing"
    assert before["history.events"], "(history included)"

    # A run cut short mid-extract replaces nothing.
    project = next(p for p in sim.admin.dump("projects") if any(c["id"] == 21 for c in p["cursus"]))
    sim.admin.update("projects", project["id"], {"name": "Renamed while the API breaks"})
    sim.admin.faults(
        {"kind": "status", "status": 500, "path": "/v2/cursus/21/projects", "after": 1}
    )
    # Pages of 5 so that the listing breaks after its first page; quick retries: the backoff
    # is not what this test is about.
    broken = elt.run(
        "--skip-dbt",  # raw is what it could break; the marts are built from raw
        "--resources",
        *REFERENCE_ENDPOINTS,
        SOURCES__INTRA__PAGE_SIZE="5",
        RUNTIME__REQUEST_BACKOFF_FACTOR="0.05",
    )
    sim.admin.clear_faults()

    assert broken.returncode == 1
    assert "ERROR projects: failed in extract" in broken.stdout
    after = everything(elt)
    assert after["raw.projects"] == before["raw.projects"], "the partial snapshot replaced nothing"

    healed = elt.run()
    assert healed.returncode == 0, healed.stdout
    assert_marts_match_oracle(elt, sim)
    assert "Renamed while the API breaks" in {row[1] for row in mart_rows(elt, "projects")}


def test_a_snapshot_that_shrinks_too_much_is_refused_until_accepted(sim, make_elt) -> None:
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    before = elt.table("raw.achievements")
    for achievement in sim.admin.dump("achievements")[: len(before) * 2 // 3]:
        sim.admin.delete("achievements", achievement["id"])

    refused = elt.run("--skip-dbt", "--resources", "achievements")
    assert refused.returncode == 1
    assert "SnapshotTooSmall" in refused.stdout and "MIN_SNAPSHOT_RATIO=0" in refused.stdout
    assert elt.table("raw.achievements") == before

    accepted = elt.run(
        "--skip-dbt", "--resources", "achievements", SOURCES__INTRA__MIN_SNAPSHOT_RATIO="0"
    )
    assert accepted.returncode == 0
    assert len(elt.table("raw.achievements")) == len(sim.admin.dump("achievements"))


def test_an_overlapping_run_exits_at_once_without_touching_anything(sim, make_elt) -> None:
    elt = make_elt(sim)
    with lock_held_by_another_run(elt.data_dir):
        busy = elt.run()
    assert busy.returncode == 75
    assert "another ELT run is in progress (pid 4242" in busy.stdout
    assert sim.admin.stats()["requests"] == 0
    assert elt.query(
        "select count(*) from information_schema.schemata where schema_name = 'raw'"
    ) == [(0,)]


def test_missing_or_wrong_credentials_stop_the_run_with_the_settings_to_fix(sim, make_elt) -> None:
    elt = make_elt(sim)
    missing = elt.run(SOURCES__INTRA__CLIENT_SECRET=None)
    assert missing.returncode == 2
    assert "SOURCES__INTRA__CLIENT_SECRET" in missing.stdout

    wrong = elt.run(SOURCES__INTRA__CLIENT_SECRET="not-the-secret-42")
    assert wrong.returncode == 2
    assert "invalid_client" in wrong.stdout and "SOURCES__INTRA__CLIENT_ID" in wrong.stdout
    assert "not-the-secret-42" not in wrong.stdout + wrong.stderr
    assert "dbt does not run" in wrong.stdout
    assert elt.query(
        "select count(*) from information_schema.schemata where schema_name = 'marts'"
    ) == [(0,)]
