"""The analytics marts against numbers computed here from the simulator's own data (its
records, its change log, its own ``locations_stats``), never by the same SQL: through a
backfill, hourly runs, a run killed half-way and a full run. The simulated clock starts on
2026-10-27, so that the sessions span the days the clocks changed in Brussels (25 hours)
and Adelaide (23 hours)."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import time
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from urllib.request import Request, urlopen
from zoneinfo import ZoneInfo

import pytest

from intra_simulator.control import SimulatorProcess
from tests.conftest import REPO
from tests.pipelines.run.conftest import SMALL_PAGES, assert_live_marts_match, silent_ids
from tests.pipelines.run.oracle import (
    expected_attempts,
    expected_blackholes,
    expected_live_marts,
    expected_logtime,
    expected_marts,
    expected_standings,
    rounded,
)

pytestmark = pytest.mark.integration

START = "2026-10-27T12:00:00Z"
CAP = timedelta(hours=12)
# Longer than the simulator's 35 days of sessions and its forgotten ones: the first run
# reads every session, so the oracle can count from the whole dump.
SETTINGS = {**SMALL_PAGES, "SOURCES__INTRA__LOCATIONS_DAYS": "40"}


def as_float(value) -> float | None:
    return None if value is None else float(value)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Api:
    """The simulated API as a client sees it (the oracle's locations_stats)."""

    def __init__(self, sim: SimulatorProcess) -> None:
        self.sim = sim
        body = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            }
        ).encode()
        with urlopen(Request(f"{sim.url}/oauth/token", data=body)) as answer:
            self.token = json.loads(answer.read())["access_token"]

    def get(self, path: str) -> object:
        request = Request(
            f"{self.sim.url}{path}",
            headers={"Authorization": f"Bearer {self.token}", "User-Agent": "test"},
        )
        with urlopen(request) as answer:
            return json.loads(answer.read())


def last_as_of(elt) -> datetime:
    return elt.query("select as_of from elt.runs where published order by run_id desc limit 1")[0][
        0
    ]


def campus_time_zones(sim) -> dict[int, str]:
    return {row[0]: row[2] for row in expected_marts(sim.admin)["campuses"]}


def assert_logtime_matches(elt, sim) -> None:
    """logtime_daily equals the rules computed in Python from the simulator's sessions, for
    every row; and, for each student's days without an open or a capped session, the
    simulator's own locations_stats (which has no cap, and counts open sessions to its now)."""
    as_of = last_as_of(elt)
    students = expected_live_marts(sim.admin)["users"]
    sessions = [s for s in sim.admin.dump("locations") if s["user"] and s["user"]["id"] in students]
    expected = expected_logtime(sessions, campus_time_zones(sim), as_of, CAP)
    rows = elt.query(
        "select user_id, campus_id, day, seconds, includes_open_session, "
        "includes_capped_session from marts.logtime_daily"
    )
    actual = {(u, c, d): s for u, c, d, s, _, _ in rows}
    assert actual == expected, "logtime_daily differs from the rules computed in Python"
    unsettled = long_or_open_days(sessions, campus_time_zones(sim), as_of)
    per_day: dict[tuple[int, date], int] = {}
    for (user, _, day), seconds in actual.items():
        per_day[(user, day)] = per_day.get((user, day), 0) + seconds
    compared = 0
    api = Api(sim)  # a new token: advancing the clock expires the old ones
    for user in sorted({u for u, _ in per_day}):
        stats = api.get(f"/v2/users/{user}/locations_stats")
        for day_text, hms in stats.items():
            day = date.fromisoformat(day_text)
            if (user, day) in unsettled:
                continue
            hours, minutes, seconds = hms.split(":")
            served = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            assert abs(per_day.get((user, day), 0) - served) < 1, (user, day, hms)
            compared += 1
    assert compared > 50, "the oracle compared too few student-days to prove anything"


def long_or_open_days(
    sessions: list[dict], time_zones: dict[int, str], as_of: datetime
) -> set[tuple[int, date]]:
    """The (user, local day) pairs a session open at the run, or longer than the cap,
    touches: there the simulator's locations_stats (no cap, open sessions counted to its
    own now) and the mirror may rightly differ."""
    days = set()
    for session in sessions:
        begin = when(session["begin_at"])
        end = when(session["end_at"]) if session["end_at"] else as_of + timedelta(days=1)
        if session["end_at"] and end - begin <= CAP and end <= as_of:
            continue
        zone = ZoneInfo(time_zones.get(session["campus_id"], "UTC"))
        day, last = begin.astimezone(zone).date(), end.astimezone(zone).date()
        while day <= last:
            days.add((session["user"]["id"], day))
            day += timedelta(days=1)
    return days


def assert_pass_rates_match(elt, sim) -> None:
    students = expected_live_marts(sim.admin)["users"]
    expected = expected_attempts(sim.admin, students)
    rows = elt.query(
        "select project_id, campus_id, registrations, first_attempts_finished, "
        "first_attempts_validated, students_finished, students_validated, "
        "first_try_pass_rate, eventual_pass_rate from marts.project_stats"
    )
    actual = {(p, c): tuple(values[:5]) for p, c, *values in rows}
    assert actual == expected, "project_stats' counts differ from the teams"
    for _, _, _, finished, validated, ever_finished, ever_validated, first, eventual in rows:
        assert as_float(first) == (rounded(validated / finished, 4) if finished else None)
        assert as_float(eventual) == (
            rounded(ever_validated / ever_finished, 4) if ever_finished else None
        )
    retried = sum(1 for p, c, *v in rows if c is None and v[1] > v[2])
    assert retried, "some first attempts failed: the first-try rate is below the final one"


def assert_standings_match(elt, sim) -> None:
    live = expected_live_marts(sim.admin)
    coalitions = expected_marts(sim.admin)["coalitions"]
    expected = expected_standings(live["coalitions_users"], coalitions)
    rows = elt.query(
        "select coalition_id, members, members_with_score, total_score, average_score, "
        "rank_in_bloc from marts.coalition_standings"
    )
    actual = {c: (m, s, t, None if a is None else float(a), r) for c, m, s, t, a, r in rows}
    assert actual == expected


def assert_blackholes_match(elt, sim, first_run: dict) -> None:
    as_of = last_as_of(elt)
    changes = sim.admin.changes()
    expected = expected_blackholes(
        first_run["cursus_users"], first_run["campus_of"], changes, as_of
    )
    rows = elt.query("select campus_id, month, blackholes from marts.campus_monthly")
    actual = {(c, m): b for c, m, b in rows if b}
    assert actual == expected
    assert sum(expected.values()) > 0, "no blackhole in the world: nothing proven"


def assert_cohorts_match(elt, sim, members: dict[int, tuple[int, str, str]]) -> None:
    """Each cohort's size (every student the mirror saw in scope, at their first campus),
    and, this month, who is still in scope, their median level and milestone 0 (Libft)."""
    live = expected_live_marts(sim.admin)
    sizes: dict[tuple, int] = {}
    for campus, year, month in members.values():
        if year.isdigit():
            sizes[(campus, int(year), month)] = sizes.get((campus, int(year), month), 0) + 1
    rows = elt.query(
        "select campus_id, pool_year, pool_month, students, still_in_scope, median_level, "
        "milestone_0_share, months_since_start from marts.cohort_progress"
    )
    assert {(c, y, m): n for c, y, m, n, *_ in rows} == sizes
    levels = {r[1]: float(r[2]) for r in live["cursus_users"].values()}
    libft = {p[0] for p in expected_marts(sim.admin)["projects"] if p[1] == "Libft"}
    validated_libft = {r[1] for r in live["projects_users"].values() if r[2] in libft and r[5]}
    latest = {}
    for c, y, m, _, still, median, share, months in rows:
        if months >= latest.get((c, y, m), (-1,))[0]:
            latest[(c, y, m)] = (months, still, median, share)
    for cohort, (_, still, median, share) in latest.items():
        cohort_members = [
            u for u, key in members.items() if (key[0], int(key[1]), key[2]) == cohort
        ]
        present = [u for u in cohort_members if u in live["users"]]
        assert still == len(present), cohort
        if present:
            assert float(median) == rounded(statistics.median(levels[u] for u in present), 2)
        reached = sum(u in validated_libft for u in cohort_members)
        assert float(share) == rounded(reached / len(cohort_members), 4), cohort


def kill_a_run_midway(elt, after_seconds: float) -> None:
    victim = subprocess.Popen(
        elt.argv(),
        cwd=REPO,
        env=elt.env(**SETTINGS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(after_seconds)
    if victim.poll() is None:
        os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()


def assert_presence_matches(elt, sim) -> int:
    """campus_presence lists the sessions of the population's students at kept campuses
    open at the run's time, begun before it and less than the cap ago."""
    as_of = last_as_of(elt)
    students = expected_live_marts(sim.admin)["users"]
    kept = campus_time_zones(sim)
    expected = set()
    for session in sim.admin.dump("locations"):
        user, campus = (session["user"] or {}).get("id"), session["campus_id"]
        if user not in students or campus not in kept or session["end_at"] is not None:
            continue
        begin = datetime.fromisoformat(session["begin_at"].replace("Z", "+00:00"))
        if as_of - CAP < begin <= as_of:
            expected.add((session["id"], user, campus))
    actual = set(elt.query("select location_id, user_id, campus_id from marts.campus_presence"))
    assert actual == expected, "campus_presence differs from the simulator's open sessions"
    return len(expected)


def test_analytics_follow_the_simulator_through_hours_a_kill_and_a_full_run(make_elt) -> None:
    with SimulatorProcess("tiny", 42, "--start-at", START, "--per-second", "0") as sim:
        elt = make_elt(sim)
        first_run = {
            "cursus_users": sim.admin.dump("cursus_users"),
            "campus_of": {u: r[3] for u, r in expected_live_marts(sim.admin)["users"].items()},
        }
        # every student the mirror saw in scope, with their first campus and their pool
        members: dict[int, tuple[int, str, str]] = {}
        present: list[int] = []  # students on campus at each check

        def check(step: str) -> None:
            pools = {u["id"]: u["pool_month"] for u in sim.admin.dump("users")}
            for user, row in expected_live_marts(sim.admin)["users"].items():
                members.setdefault(user, (row[3], row[6], pools[user]))
            try:
                assert_live_marts_match(elt, sim, exclude=silent_ids(sim))
                assert_logtime_matches(elt, sim)
                present.append(assert_presence_matches(elt, sim))
                assert_pass_rates_match(elt, sim)
                assert_standings_match(elt, sim)
                assert_blackholes_match(elt, sim, first_run)
                assert_cohorts_match(elt, sim, members)
            except AssertionError as error:
                raise AssertionError(f"after {step}: {error}") from error

        backfill = elt.run(**SETTINGS)
        assert backfill.returncode == 0, backfill.stdout
        check("the backfill")

        sim.admin.advance(3600)
        hourly = elt.run(**SETTINGS)
        assert hourly.returncode == 0, hourly.stdout
        check("an hourly run")

        sim.admin.advance(3600)
        kill_a_run_midway(elt, after_seconds=4)
        healed = elt.run(**SETTINGS)
        assert healed.returncode == 0, healed.stdout
        check("a killed run and the next")

        gone = next(s for s in sim.admin.dump("locations") if s["end_at"] and s["primary"])
        sim.admin.delete("locations", gone["id"])
        sim.admin.advance(1800)
        full = elt.run(command="full", **SETTINGS)
        assert full.returncode == 0, full.stdout
        assert not elt.query("select 1 from marts.locations where location_id = %s", gone["id"])
        check("a full run")
        assert all(present), f"a check with nobody on campus proves nothing: {present}"
