"""Live tracking end to end: backfill, hourly increments while the simulated network lives,
full run. After every run the live marts equal an oracle computed from the simulator's
state, except for the changes the API does not reveal through updated_at (the simulator logs
them); after a full run they equal it exactly."""

from __future__ import annotations

import json
import math
import subprocess
from collections import Counter
from datetime import datetime

import pytest

from intra_simulator.control import SimulatorProcess
from pipelines.intra.settings import DEFAULT_CURSUS_ID, LIVE_ENDPOINTS
from tests.pipelines.run.conftest import (
    assert_live_marts_match,
    assert_marts_match_oracle,
    live_rows,
    silent_ids,
)
from tests.pipelines.run.oracle import LIVE_COLUMNS, expected_live_marts, without_primary_campus

pytestmark = pytest.mark.integration

LIVE = tuple(LIVE_COLUMNS)


@pytest.fixture
def sim():
    with SimulatorProcess("tiny", 42, "--per-second", "10") as process:
        yield process


def test_backfill_hourly_rounds_and_full_run_follow_the_api(sim, make_elt) -> None:
    """Backfill, an hourly round while the network lives, then a full run. (Hourly
    builds on top of hourly builds: the quota and broken-read tests of test_reliability,
    whose last runs equal the oracle, and test_history, compared with the simulator's log.)

    Along the way, two behaviours of the real API (issue 10). Some students have campus_users
    rows but none primary: the marts keep them, at their latest campus. A score change makes
    the API re-rank only that member, and a newcomer only themself: the others' ranks go stale
    without their updated_at moving, so the marts compute rank from the scores, also for the
    rows the hourly run does not read again."""
    elt = make_elt(sim)
    expected = expected_live_marts(sim.admin)
    no_primary = without_primary_campus(sim.admin) & set(expected["users"])
    assert no_primary, "the simulator has students without a primary campus"
    for mart in ("cursus_users", "projects_users", "achievements_users", "coalitions_users"):
        assert any(row[1] in no_primary for row in expected[mart].values()), mart

    backfill = elt.run()
    assert backfill.returncode == 0, backfill.stdout
    assert no_primary <= set(live_rows(elt, "users")), "kept, not dropped"
    assert_live_marts_match(elt, sim)
    sim.admin.call("DELETE", "silent")

    sim.admin.advance(12 * 3600)  # scores move, students arrive, leave, get anonymized...
    expected = expected_live_marts(sim.admin)["coalitions_users"]
    stale = {k for k, row in expected.items() if row[4] != row[5]}  # rank != the API's rank
    assert stale, "some students' API rank went stale"
    hourly = elt.run()
    assert hourly.returncode == 0, hourly.stdout
    assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
    published = live_rows(elt, "coalitions_users")
    deleted = silent_ids(sim).get("coalitions_users", set())
    assert any(published[k][4] == expected[k][4] != published[k][5] for k in stale - deleted)

    assert any(silent_ids(sim).values()), "some changes were invisible to the increments"

    full = elt.run(command="full")
    assert full.returncode == 0, full.stdout
    assert_live_marts_match(elt, sim)  # exactly, hidden changes and deletions included
    assert_marts_match_oracle(elt, sim)


def test_calls_grow_with_what_changed_and_a_quiet_run_costs_one_call_per_live_resource(
    sim, make_elt
) -> None:
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    sim.admin.reset_stats()
    quiet = elt.run("--skip-dbt", "--resources", *LIVE_COLUMNS.keys(), "campus_users")
    assert quiet.returncode == 0, quiet.stdout
    served = sim.admin.stats()["by_path"]
    calls = {
        name: sum(served.get(f"/v2/{e.path.format(cursus_id=DEFAULT_CURSUS_ID)}", {}).values())
        for name, e in LIVE_ENDPOINTS.items()
    }
    # projects_users also reads the students without a primary campus by id, 100 a call
    by_id = math.ceil(len(unmatched_students(sim.admin)) / 100)
    assert calls.pop("projects_users") == 1 + by_id
    assert last_run_resources(elt)["projects_users"]["minimum_calls"] == 1 + by_id
    # campus sessions have two windows, one of the sessions begun and one of those ended
    assert calls.pop("locations") == 2
    assert calls == dict.fromkeys(calls, 1), calls

    # a day of activity: the calls follow what changed
    sim.admin.reset_stats()
    changed = sim.admin.advance(24 * 3600)["changed"]
    assert elt.run("--skip-dbt").returncode == 0
    calls = sim.admin.stats()["by_path"].get("/v2/projects_users", {}).get("200", 0)
    # new and changed projects_users, at most 100 a call (plus the window's own first page)
    assert calls <= math.ceil(changed.get("projects_users", 0) / 100) + 1


def unmatched_students(admin) -> set[int]:
    """Users enrolled in the cursus with rows at kept campuses, none of them primary."""
    kept = {c["id"] for c in admin.dump("campus") if c["active"] and c["public"]}
    enrolled = {r["user"]["id"] for r in admin.dump("cursus_users") if r["cursus_id"] == 21}
    rows = [r for r in admin.dump("campus_users") if r["campus_id"] in kept]
    primary = {r["user_id"] for r in rows if r["is_primary"]}
    return ({r["user_id"] for r in rows} - primary) & enrolled


def test_changes_while_paging_lose_nothing(sim, make_elt) -> None:
    """Records updated between two page requests leave the window being read; with page
    numbers the records behind them would slide onto an already-read page and be lost."""
    elt = make_elt(sim)
    small_pages = {"SOURCES__INTRA__PAGE_SIZE": "10"}
    sim.admin.faults({"kind": "touch", "path": "/v2/projects_users", "nth": [2, 4], "rows": 3})
    first = elt.run("--skip-dbt", **small_pages)  # raw is where a record would be lost
    sim.admin.clear_faults()
    assert first.returncode == 0, first.stdout
    expected = expected_live_marts(sim.admin)["projects_users"]
    loaded = {row[0] for row in elt.query("select id from raw.projects_users")}
    missing = set(expected) - loaded
    assert len(missing) <= 6, "only the records touched mid-read can be missing yet"

    second = elt.run(**small_pages)
    assert second.returncode == 0, second.stdout
    assert_live_marts_match(elt, sim)


def test_anonymized_users_lose_their_personal_data_everywhere_in_raw(sim, make_elt) -> None:
    """The simulator schedules a few anonymize dates a few hours after it starts; once they
    pass, the run erases those users even where the API has not changed them."""
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    users = sim.admin.dump("users")
    now = when(sim.admin.advance(13 * 3600, activity=False)["now"])
    reached = {
        u["id"]: u["login"]
        for u in users
        if not u["login"].startswith("3b3-") and when(u["anonymize_date"]) < now
    }
    assert reached, "anonymize dates passed"

    assert elt.run().returncode == 0
    raw_users = elt.query(
        "select id, login, email, first_name, image from raw.users where id = any(%s)",
        list(reached),
    )
    assert {row[0] for row in raw_users} == set(reached)
    assert all(row[1] == f"3b3-{row[0]}" and row[2:] == (None, None, None) for row in raw_users)
    places = [("projects_users", "teams"), ("projects_users", '"user"'), ("cursus_users", '"user"')]
    for table, column in places:
        for login in reached.values():
            sql = f"select count(*) from raw.{table} where {column}::text ~ %s"
            assert elt.query(sql, rf"\m{login}\M") == [(0,)], f"{login} still in raw.{table}"
    published = elt.query(
        "select count(*) from marts.users where user_id = any(%s) "
        "and (first_name is not null or email is not null)",
        list(reached),
    )
    assert published == [(0,)]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def last_run_resources(elt) -> dict[str, dict]:
    return elt.query("select resources from elt.runs order by run_id desc limit 1")[0][0]


def test_enrolled_users_the_listing_misses_are_read_by_id_in_the_same_run_and_asked_once(
    sim, make_elt
) -> None:
    """An admission creates a cursus_user and a first project but leaves the user's updated_at
    where it was: the users listing, read by updated_at, never shows the new student; the run
    reads them by id. An enrolled user the API does not return at all is named in a warning
    and not asked for again."""
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    admitted = sim.admin.admit()["user"]["id"]
    assert elt.query("select count(*) from raw.users where id = %s", admitted) == [(0,)]

    hourly = elt.run()
    assert hourly.returncode == 0, hourly.stdout
    assert elt.query("select count(*) from marts.users where user_id = %s", admitted) == [(1,)]
    for mart in ("cursus_users", "projects_users"):
        rows = elt.query(f"select count(*) from marts.{mart} where user_id = %s", admitted)
        assert rows[0][0] >= 1, f"the admitted student's {mart}"
    assert_live_marts_match(elt, sim)
    by_id = last_run_resources(elt)["users_by_id"]
    assert (by_id["read"], by_id["calls"], by_id["minimum_calls"]) == (1, 1, 1), by_id
    assert "users_by_id: ok, 1 records read, 1 calls (minimum 1)" in hourly.stdout

    quiet = elt.run("--skip-dbt", "--resources", "users_by_id")
    assert quiet.returncode == 0, quiet.stdout
    by_id = last_run_resources(elt)["users_by_id"]
    assert (by_id["read"], by_id["calls"], by_id["minimum_calls"]) == (0, 0, 0), "none missing"

    elt.query(  # an enrolment whose user the cursus's users listing does not have
        'insert into raw.cursus_users (id, cursus_id, "user", _dlt_load_id, _dlt_id) '
        "select 1, 21, '{\"id\": 999999}', _dlt_load_id, 'not-returned' "
        "from raw.cursus_users limit 1 returning id"
    )
    first = elt.run("--skip-dbt", "--resources", "users_by_id")
    assert first.returncode == 0, first.stdout
    assert "WARNING users_by_id: 1 user(s) enrolled in cursus 21 not returned" in first.stdout
    assert "(ids 999999)" in first.stdout
    assert last_run_resources(elt)["users_by_id"]["calls"] == 1

    second = elt.run("--skip-dbt", "--resources", "users_by_id")
    assert second.returncode == 0, second.stdout
    assert last_run_resources(elt)["users_by_id"]["calls"] == 0, "remembered, not asked again"
    assert "WARNING" not in second.stdout


def test_enrolled_students_whose_campus_the_listing_missed_are_read_by_user_id(
    sim, make_elt
) -> None:
    """A new account comes with its campus_users row, which the watch's listing reads only
    every few minutes; until then the student is in no mart. The run reads, by user id and
    narrowed to the kept campuses, the campus rows of the enrolled students raw.campus_users
    lacks (here: rows deleted from raw), and asks nothing when none is missing."""
    elt = make_elt(sim)
    assert elt.run("--skip-dbt").returncode == 0
    [(user_id, rows)] = elt.query(
        "select user_id, count(*) from raw.campus_users where user_id in"
        " (select (\"user\" ->> 'id')::bigint from raw.cursus_users where cursus_id = 21)"
        " group by user_id order by user_id limit 1"
    )
    elt.query("delete from raw.campus_users where user_id = %s returning id", user_id)

    missed = elt.run("--skip-dbt", "--resources", "campus_users_by_id")
    assert missed.returncode == 0, missed.stdout
    by_id = last_run_resources(elt)["campus_users_by_id"]
    assert (by_id["read"], by_id["calls"], by_id["minimum_calls"]) == (rows, 1, 1), by_id
    found = elt.query("select count(*) from raw.campus_users where user_id = %s", user_id)
    assert found == [(rows,)]
    assert "WARNING" not in missed.stdout, "the students of other campuses are no surprise"

    quiet = elt.run("--skip-dbt", "--resources", "campus_users_by_id")
    assert quiet.returncode == 0, quiet.stdout
    assert last_run_resources(elt)["campus_users_by_id"]["calls"] == 0, "none missing"


def a_student_with_one_campus(admin) -> tuple[int, int]:
    """A student of the cursus at a kept campus, with projects: (user id, campus_users id)."""
    kept = {c["id"] for c in admin.dump("campus") if c["active"] and c["public"]}
    enrolled = {r["user"]["id"] for r in admin.dump("cursus_users") if r["cursus_id"] == 21}
    with_projects = {r["user"]["id"] for r in admin.dump("projects_users")}
    rows: dict[int, list[dict]] = {}
    for row in admin.dump("campus_users"):
        rows.setdefault(row["user_id"], []).append(row)
    for user in admin.dump("users"):
        mine = rows.get(user["id"], [])
        if (
            user["kind"] == "student"
            and not user["alumni?"]
            and user["id"] in enrolled & with_projects
            and len(mine) == 1
            and mine[0]["is_primary"]
            and mine[0]["campus_id"] in kept
        ):
            return user["id"], mine[0]["id"]
    raise AssertionError("no such student")


@pytest.mark.parametrize("campus_filter", ["primary", "any"])
def test_a_student_without_a_primary_campus_has_their_projects_read(
    campus_filter, make_elt
) -> None:
    """Whether filter[campus] finds a student none of whose campus rows is primary is unknown:
    under both answers, their projects are read (by user id), in full and then hourly, once."""
    with SimulatorProcess(
        "tiny", 42, "--per-second", "10", "--campus-filter", campus_filter
    ) as sim:
        uid, campus_user = a_student_with_one_campus(sim.admin)
        sim.admin.update("campus_users", campus_user, {"is_primary": False})
        elt = make_elt(sim)
        with_marts = campus_filter == "primary"  # the other variant checks raw only: cheaper
        backfill = elt.run() if with_marts else elt.run("--skip-dbt")
        assert backfill.returncode == 0, backfill.stdout
        theirs = {r["id"]: r for r in sim.admin.dump("projects_users") if r["user"]["id"] == uid}
        sql = "select id from raw.projects_users where (\"user\" ->> 'id')::bigint = %s"
        assert {row[0] for row in elt.query(sql, uid)} == set(theirs)
        if with_marts:  # dbt places them at the campus of their latest row
            expected = expected_live_marts(sim.admin)["projects_users"]
            wanted = {k: v for k, v in expected.items() if v[1] == uid}
            published = {k: v for k, v in live_rows(elt, "projects_users").items() if v[1] == uid}
            assert wanted and published == wanted

        changed = min(theirs)
        sim.admin.update("projects_users", changed, {"final_mark": 111})
        hourly = elt.run("--skip-dbt", "--resources", "projects_users")
        assert hourly.returncode == 0, hourly.stdout
        mark = "select final_mark from raw.projects_users where id = %s"
        assert elt.query(mark, changed) == [(111,)]
        projects_users = last_run_resources(elt)["projects_users"]
        # the window by user id, then the listing's: each counted in the minimum
        assert projects_users["read"] == 1, projects_users
        assert projects_users["calls"] == projects_users["minimum_calls"] == 2, projects_users


def personal_values(users: list[dict]) -> dict[int, set[str]]:
    """Every personal value of each user that no other user shares (so that finding it
    anywhere means finding them): login, e-mail, names, URLs, photo; not the pseudonyms of
    the users the intra had already anonymized."""
    fields = ("login", "email", "usual_full_name", "displayname", "url")
    values = {
        u["id"]: {str(u[f]) for f in fields if u.get(f)}
        | {f"{u['first_name']} {u['last_name']}"}
        | {link for link in [(u.get("image") or {}).get("link")] if link}
        for u in users
    }
    count = Counter(v for vs in values.values() for v in vs)
    unique = {v for v, n in count.items() if n == 1 and len(v) > 3 and "3b3" not in v}
    return {uid: vs & unique for uid, vs in values.items()}


def full_dump(elt) -> str:
    """pg_dump of the whole database, and every file of the data directory."""
    from pipelines.commands.demo import pgserver_bin

    params = elt.database.params
    dump = subprocess.run(
        [f"{pgserver_bin()}/pg_dump", "-h", params["host"], "-U", "postgres", params["dbname"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files = [p for p in elt.data_dir.rglob("*") if p.is_file()]
    return dump + "".join(p.read_text(errors="replace") for p in files)


def test_anonymized_users_leave_no_personal_value_in_a_full_dump_whatever_the_api_serves(
    sim, make_elt
) -> None:
    """The API may not rename the teams of a user it anonymizes (the simulator's "frozen"
    team logins): a later load of their registrations, or of their teammates', brings their
    old login back in a team. The erasure finds those teams by member id, on every run."""
    sim.admin.configure(team_logins="frozen")
    elt = make_elt(sim)
    before = personal_values(sim.admin.dump("users"))
    assert elt.run().returncode == 0
    now = when(sim.admin.advance(13 * 3600)["now"])  # some anonymized by the API, some not
    reached = {u["id"] for u in sim.admin.dump("users") if when(u["anonymize_date"]) < now} & {
        row[0] for row in elt.query("select id from raw.users")
    }
    assert reached, "anonymize dates passed"
    assert elt.run().returncode == 0

    # later loads of every registration with a team that names them
    their_rows = [
        r["id"]
        for r in sim.admin.dump("projects_users")
        if any(m["id"] in reached for team in r["teams"] for m in team["users"])
    ]
    served = json.dumps(sim.admin.dump("projects_users"))
    assert any(v in served for uid in reached for v in before[uid]), "old logins served"
    for record_id in their_rows:
        sim.admin.update("projects_users", record_id, {})
    sim.admin.advance(60, activity=False)
    assert elt.run().returncode == 0

    everything = full_dump(elt)
    found = sorted(v for uid in reached for v in before[uid] if v in everything)
    assert found == [], f"{len(found)} personal values of anonymized users in the dump"
