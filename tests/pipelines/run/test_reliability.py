"""Every fault the real API and a cron host throw at the ELT, survived with nothing lost.

Each scenario runs the real command line against the simulator over HTTP and a real
PostgreSQL; after it, the next normal run must converge: the marts equal the oracle, nothing
is lost or duplicated, and exit codes and messages tell the truth.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import requests

from intra_simulator.control import SimulatorProcess
from tests.conftest import REPO
from tests.pipelines.run.conftest import (
    SMALL_PAGES,
    assert_live_marts_match,
    assert_marts_match_oracle,
    converges,
)

pytestmark = pytest.mark.integration

LIVE = (
    "users",
    "cursus_users",
    "campus_users",
    "projects_users",
    "achievements_users",
    "coalitions_users",
)


def simulator(*args: str) -> SimulatorProcess:
    return SimulatorProcess("tiny", 42, *args)


def loaded_progress(elt) -> list[tuple]:
    """raw.projects_users as the API gave it (the privacy erasure may rewrite nested users)."""
    return elt.query("select id, status, final_mark, updated_at from raw.projects_users order by 1")


def calls(sim, path: str, status: str | None = None) -> int:
    served = sim.admin.stats()["by_path"].get(path, {})
    return served.get(status, 0) if status else sum(served.values())


# 1, 5, 7. transient faults: token expiry and revocation, 5xx, timeouts, repeated rows ------


def test_transient_faults_during_a_backfill_are_absorbed_and_nothing_reaches_the_marts_twice(
    make_elt,
) -> None:
    """One backfill through every fault a healthy run must absorb, at once: tokens that
    expire every 2 s and one revoked mid-run (replaced, the run goes on), 502s and a 500
    (retried with backoff), a page slower than the client's timeout (retried), and pages
    that repeat rows of the page before (each row reaches the marts once). The specific
    faults come first: the simulator applies the first rule that fires to a request."""
    with simulator("--per-second", "20", "--token-ttl", "2") as sim:
        elt = make_elt(sim)
        sim.admin.faults(
            {"kind": "revoke", "path": "/v2/projects_users", "nth": [8]},
            {"kind": "status", "status": 502, "path": "/v2/projects_users", "nth": [2, 3]},
            {"kind": "status", "status": 500, "path": "/v2/campus", "nth": [1]},
            {"kind": "timeout", "delay": 3, "path": "/v2/achievements_users", "nth": [2]},
            {"kind": "duplicate", "path": "/v2/", "rate": 0.5, "rows": 3},
        )
        run = elt.run(RUNTIME__REQUEST_TIMEOUT="1", **SMALL_PAGES)
        assert run.returncode == 0, run.stdout
        assert calls(sim, "/oauth/token", "200") >= 3, "renewed after expiry and after revocation"
        assert calls(sim, "/v2/projects_users", "401") >= 1
        assert calls(sim, "/v2/projects_users", "502") == 2
        fired = [fault["fired"] for fault in sim.admin.stats()["faults"]]
        assert fired[:4] == [1, 2, 1, 1], fired
        assert fired[4] > 5, "rows were repeated across pages"
        assert_marts_match_oracle(elt, sim)
        assert_live_marts_match(elt, sim)
        for mart, key in [("projects_users", "projects_user_id"), ("users", "user_id")]:
            assert elt.query(f"select count(*) - count(distinct {key}) from marts.{mart}") == [(0,)]


# 3. per-second 429 bursts -------------------------------------------------------------


def test_per_second_429_bursts_are_absorbed(make_elt) -> None:
    """The client starts out believing in 20 requests/s; the API allows 2 and says so."""
    with simulator("--per-second", "2") as sim:
        elt = make_elt(sim)
        run = elt.run("--skip-dbt", "--resources", "cursus", "campus", "projects", "achievements",
                      SOURCES__INTRA__REQUESTS_PER_SECOND="20", **SMALL_PAGES)  # fmt: skip
        assert run.returncode == 0, run.stdout
        assert "ERROR" not in run.stdout


# 4. hourly quota --------------------------------------------------------------------------


def test_a_spent_hourly_quota_stops_cleanly_publishes_what_completed_and_resumes(make_elt) -> None:
    """60 calls an hour, a backfill needing about 125 (and every run reads the reference
    snapshots again, 11 calls): each run reads what it can, publishes it, says when to
    resume, and the next one goes on from the last id it loaded. At least three runs: the
    middle ones both resume and stop again."""
    with simulator("--per-second", "20", "--per-hour", "60") as sim:
        elt = make_elt(sim)
        codes, live_read = [], 0
        for _ in range(10):
            run = elt.run(**SMALL_PAGES)
            codes.append(run.returncode)
            for name in LIVE:
                live_read += sum(
                    int(n) for n in re.findall(rf" {name}: ok[^,]*, (\d+) records read", run.stdout)
                )
            if run.returncode == 0:
                break
            assert run.returncode == 3, run.stdout
            assert "resume after" in run.stdout and "published" in run.stdout
            sim.admin.advance(3601, activity=False)  # the hourly window passes
        assert len(codes) >= 3 and codes == [3] * (len(codes) - 1) + [0], codes
        assert_marts_match_oracle(elt, sim)
        assert_live_marts_match(elt, sim)
        in_api = sum(
            len(sim.admin.dump(name)) for name in ("users", "cursus_users", "achievements_users")
        )
        assert live_read < in_api * 2, (
            "each run resumed where the last stopped; nothing read twice over"
        )


# 6. malformed and truncated pages -------------------------------------------------------


def test_a_failing_malformed_truncated_or_refused_read_publishes_nothing_partial(make_elt) -> None:
    """After the backfill, time passes and the reading of projects_users breaks, one way a
    run: a page after the first fails with a 503 every time it is asked again, comes back
    malformed, comes back truncated; then the API refuses projects_users' filter[campus]
    (400 Filter Error). Each time that resource fails alone and says why, its state does not
    advance, not one record of the broken scan is loaded, the marts show only what was loaded
    before, and the other resources load (and, in the first broken run, which runs dbt,
    their marts are published). Once the API answers again, the next normal run reads the
    changes of the refused runs' windows and the marts converge.

    Through these failing and working runs, the client secret and the access tokens are
    written nowhere (see ``assert_never_written``)."""
    secret = "s-s4t2ud-" + secrets.token_hex(32)  # made at run time: never in the repository
    with simulator("--per-second", "20", "--client-secret", secret) as sim:
        sim.client_secret = secret
        elt = make_elt(sim)
        runs = [elt.run(**SMALL_PAGES)]
        tokens = {live_token(sim)}
        assert runs[0].returncode == 0, runs[0].stdout
        before = loaded_progress(elt)
        loaded = {(i, status, mark) for i, status, mark, _ in before}
        page_faults = [
            {"kind": "status", "status": 503},
            {"kind": "malformed"},
            {"kind": "truncate"},
        ]
        refused = {"kind": "refuse", "param": "filter[campus]", "after": 0}
        for fault in [*({**f, "after": 1} for f in page_faults), refused]:
            sim.admin.advance(6 * 3600)  # tokens expire: each run gets its own
            sim.admin.faults({**fault, "path": "/v2/projects_users"})
            # dbt reacts to a failed resource the same way whatever broke it: the first
            # broken run (the 503) builds and publishes; the others stop after the load
            # (raw is what they could break)
            with_dbt = fault.get("status") == 503
            broken = elt.run(**SMALL_PAGES) if with_dbt else elt.run("--skip-dbt", **SMALL_PAGES)
            runs.append(broken)
            tokens.add(live_token(sim))
            assert broken.returncode == 1, (fault, broken.stdout)
            line = next(x for x in broken.stdout.splitlines() if "ERROR projects_users:" in x)
            if fault is refused:
                assert "the API refused filter[campus] (400 Filter Error: Attributes campus" in line
                assert "state did not advance" in line
            else:
                assert "projects_users: failed in extract" in line, fault
            assert loaded_progress(elt) == before, f"{fault}: a record of the broken scan loaded"
            published = elt.query(
                "select projects_user_id, status, final_mark from marts.projects_users"
            )
            assert set(published) <= loaded, f"{fault}: the marts show only what was loaded"
            resources = elt.query("select resources from elt.runs order by run_id desc limit 1")
            users = resources[0][0]["users"]
            assert users["status"] == "ok" and users["read"] > 0, fault
            if with_dbt:
                assert "published: schema marts" in broken.stdout, "the others' marts published"
        runs.append(converges(elt, sim))
        tokens.add(live_token(sim))
        assert_never_written(elt, runs, {secret: "secret", **dict.fromkeys(tokens, "token")})


def live_token(sim) -> str:
    """The access token the simulator hands out now: the one the last run used, still live."""
    credentials = {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
    }
    return requests.post(f"{sim.url}/oauth/token", data=credentials).json()["access_token"]


def assert_never_written(elt, runs: list, needles: dict[str, str]) -> None:
    """None of ``needles`` (text: what it is) appears in the runs' output (cron mail), the
    logs, dlt's traces and state, the run ledger, the raw tables, nor error messages."""
    haystacks = {
        "output": "".join(run.stdout + run.stderr for run in runs).encode(),
        "database": database_text(elt).encode(),
        **every_file_under(elt.data_dir),
        **every_file_under(REPO / "dbt_project" / "logs"),
    }
    assert len(haystacks) > 10
    for needle, what in needles.items():
        found = [name for name, text in haystacks.items() if needle.encode() in text]
        assert not found, f"{what} found in {found}"


def every_file_under(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def database_text(elt) -> str:
    """Every row of every table of raw, elt and marts, as text."""
    tables = elt.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'elt', 'marts', 'marts__build') "
        "and table_type = 'BASE TABLE'"
    )
    return "\n".join(
        str(elt.query(f'select t::text from "{schema}"."{name}" as t')) for schema, name in tables
    )


# 9. PostgreSQL restarted during the load ---------------------------------------------


def test_postgres_going_away_mid_run_gives_a_clear_error_and_the_next_run_converges(
    make_elt, postgres
) -> None:
    """The server stops while projects_users is being read and comes back ten seconds later:
    what was being loaded then fails cleanly, nothing half-written, the next run heals."""
    with simulator("--per-second", "5") as sim:
        elt = make_elt(sim)
        argv = elt.argv()
        env = elt.env(**SMALL_PAGES)
        process = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "projects_users: page" in line:
                pg_ctl(postgres, "stop", "-m", "fast")
                time.sleep(10)  # longer than the rest of the extraction: the loads hit it
                postgres.ensure_postgres_running()  # as pgserver started it (same socket)
                break
        lines.extend(process.stdout)
        process.wait(timeout=300)
        output = "".join(lines)
        assert process.returncode == 1, output
        assert "ERROR" in output and "done: FAILED" in output
        assert "Traceback" not in output
        converges(elt, sim)


def pg_ctl(postgres, *args: str) -> None:
    from pgserver._commands import pg_ctl as run

    run(["-w", *args], pgdata=postgres.pgdata, user=postgres.system_user)


# 10. two runs at once ---------------------------------------------------------------------


def test_two_runs_started_together_one_works_the_other_leaves_at_once(make_elt) -> None:
    with simulator("--per-second", "5") as sim:
        elt = make_elt(sim)
        argv = elt.argv()
        first = subprocess.Popen(argv, cwd=REPO, env=elt.env(), stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        second = subprocess.run(
            argv, cwd=REPO, env=elt.env(), capture_output=True, text=True, timeout=120
        )
        out, _ = first.communicate(timeout=600)
        assert second.returncode == 75 and "another ELT run is in progress" in second.stdout
        assert first.returncode == 0, out
        assert_marts_match_oracle(elt, sim)
        assert_live_marts_match(elt, sim)


# heavy pages --------------------------------------------------------------------------


def test_pages_too_heavy_to_answer_in_time_are_read_at_a_smaller_size(make_elt) -> None:
    """A page of more than 12 projects does not come back before the client's timeout:
    after dlt's retries the projects are read 20, then 10 at a time, from where the scan
    stood; the run succeeds, raw holds every project of the listing once, and the report
    and the ledger say that the page size was cut. (No dbt: the marts follow raw, as every
    other test shows.)"""
    with simulator("--per-second", "20") as sim:
        elt = make_elt(sim)
        sim.admin.faults(
            {"kind": "heavy", "path": "/v2/cursus/21/projects", "after": 0, "rows": 12, "delay": 2}
        )
        run = elt.run("--skip-dbt", "--resources", "cursus", "campus", "projects",
                      SOURCES__INTRA__PAGE_SIZE="40", RUNTIME__REQUEST_TIMEOUT="1",
                      RUNTIME__REQUEST_MAX_ATTEMPTS="2")  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        listed = [p for p in sim.admin.dump("projects") if any(c["id"] == 21 for c in p["cursus"])]
        loaded = [row[0] for row in elt.query("select id from raw.projects")]
        assert sorted(loaded) == sorted(p["id"] for p in listed)
        assert "projects: ok; page size cut to 10 (pages of 40 timed out)" in run.stdout
        ledger = elt.query("select resources from elt.runs order by run_id desc limit 1")[0][0]
        assert ledger["projects"]["read"] == ledger["projects"]["rows"] == len(listed)
        assert ledger["projects"]["page_size"] == 10
        assert ledger["campus"]["page_size"] == 40
        assert calls(sim, "/v2/cursus/21/projects", "200") == 2, "10 + 8 projects"


# 401s that renewing the token does not cure ---------------------------------------------


def test_401s_that_outlast_fresh_tokens_stop_the_run_as_a_credentials_problem(make_elt) -> None:
    """Every call of a resource is refused with a bare 401 (no WWW-Authenticate), whatever
    the token: after a few fresh tokens the run stops with exit 2 and names the settings to
    check; the resources after it are not read."""
    with simulator("--per-second", "20", "--bare-401") as sim:
        elt = make_elt(sim)
        sim.admin.faults({"kind": "revoke", "path": "/v2/campus", "after": 0})
        run = elt.run("--skip-dbt", "--resources", "campus", "cursus")
        assert run.returncode == 2, run.stdout + run.stderr
        assert "stopped: InvalidCredentials" in run.stdout
        assert "SOURCES__INTRA__CLIENT_SECRET" in run.stdout
        assert calls(sim, "/v2/cursus") == 0
        assert "Traceback" not in run.stdout + run.stderr
        assert sim.client_secret not in run.stdout + run.stderr
        assert elt.query("select status from elt.runs") == [("config",)]
