"""What the marts must contain, computed straight from the simulator's own data.

Independent of the pipeline: it reads the simulator's full dump (``/_sim/dump/<collection>``,
the API objects as the server renders them) and applies the business rules in plain Python.
Integration tests compare every mart table with it.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from intra_simulator.control import SimulatorAdmin


def normalise_color(color: str) -> str:
    color = color.strip()
    return color if color.startswith("#") else f"#{color}"


def expected_marts(admin: SimulatorAdmin, cursus_id: int = 21) -> dict[str, set[tuple]]:
    """Rows of each mart table, as tuples of the columns listed in ``MART_COLUMNS``."""
    campuses = admin.dump("campus")
    kept = {c["id"]: c for c in campuses if c["active"] and c["public"]}

    cursus = {
        (c["id"], c["name"], c["slug"], c["kind"])
        for c in admin.dump("cursus")
        if c["id"] == cursus_id
    }

    projects = [p for p in admin.dump("projects") if any(c["id"] == cursus_id for c in p["cursus"])]
    kept_projects = {p["id"]: p for p in projects if any(c["id"] in kept for c in p["campus"])}

    campus_projects = {
        (c["id"], p["id"]) for p in kept_projects.values() for c in p["campus"] if c["id"] in kept
    }
    sessions = {
        (s["id"], p["id"], s["campus_id"])
        for p in kept_projects.values()
        for s in p["project_sessions"]
        if s["campus_id"] is None or s["campus_id"] in kept
    }

    by_name = {c["name"].strip(): campus_id for campus_id, c in kept.items()}
    achievements = {a["id"]: a for a in admin.dump("achievements")}
    campus_achievements = {
        (by_name[name.strip()], a["id"])
        for a in achievements.values()
        for name in a["campus"]
        if name.strip() in by_name
    }
    offered = {achievement_id for _, achievement_id in campus_achievements}

    coalitions = {
        (
            c["id"],
            c["name"],
            c["slug"],
            normalise_color(c["color"]),
            b["id"],
            b["campus_id"],
            b["cursus_id"],
        )
        for b in admin.dump("blocs")
        if b["cursus_id"] == cursus_id and b["campus_id"] in kept
        for c in b["coalitions"]
    }

    return {
        "cursus": cursus,
        "campuses": {(c["id"], c["name"], c["time_zone"], c["city"]) for c in kept.values()},
        "projects": {
            (
                p["id"],
                p["name"],
                p["slug"],
                p["difficulty"],
                (p["parent"] or {}).get("id"),
                p["exam"],
            )
            for p in kept_projects.values()
        },
        "campus_projects": campus_projects,
        "project_sessions": sessions,
        "coalitions": coalitions,
        "achievements": {
            (a["id"], a["name"], a["tier"], a["kind"])
            for i, a in achievements.items()
            if i in offered
        },
        "campus_achievements": campus_achievements,
    }


# The mart columns each oracle tuple corresponds to.
MART_COLUMNS = {
    "cursus": ("cursus_id", "name", "slug", "kind"),
    "campuses": ("campus_id", "name", "time_zone", "city"),
    "projects": ("project_id", "name", "slug", "difficulty", "parent_project_id", "is_exam"),
    "campus_projects": ("campus_id", "project_id"),
    "project_sessions": ("project_session_id", "project_id", "campus_id"),
    "coalitions": ("coalition_id", "name", "slug", "color", "bloc_id", "campus_id", "cursus_id"),
    "achievements": ("achievement_id", "name", "tier", "kind"),
    "campus_achievements": ("campus_id", "achievement_id"),
}


def unmatched_campus_names(admin: SimulatorAdmin) -> int:
    """(achievement, campus name) pairs whose name matches no kept campus, trimmed."""
    kept = {c["name"].strip() for c in admin.dump("campus") if c["active"] and c["public"]}
    return sum(name.strip() not in kept for a in admin.dump("achievements") for name in a["campus"])


# -- live marts -------------------------------------------------------------------------

LIVE_COLUMNS = {
    "users": (
        "user_id",
        "login",
        "first_name",
        "campus_id",
        "wallet",
        "correction_point",
        "pool_year",
    ),
    "cursus_users": ("cursus_user_id", "user_id", "level", "grade"),
    "projects_users": (
        "projects_user_id",
        "user_id",
        "project_id",
        "status",
        "final_mark",
        "is_validated",
    ),
    "achievements_users": ("achievements_user_id", "user_id", "achievement_id"),
    "coalitions_users": (
        "coalitions_user_id",
        "user_id",
        "coalition_id",
        "score",
        "rank",
        "api_rank",
    ),
    "locations": (
        "location_id",
        "user_id",
        "campus_id",
        "host",
        "is_primary",
        "begin_at",
        "end_at",
    ),
}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def user_campuses(campus_users: list[dict], kept: set[int]) -> dict[int, int]:
    """Each user's campus from their rows at kept campuses (the ELT reads no others): the
    primary row, the latest updated if several; a user with no primary row gets the campus
    of their latest row (created_at, then id)."""
    rows: dict[int, list[dict]] = {}
    for row in campus_users:
        if row["campus_id"] in kept:
            rows.setdefault(row["user_id"], []).append(row)
    campuses = {}
    for user_id, mine in rows.items():
        primary = [r for r in mine if r["is_primary"]]
        if primary:
            chosen = max(primary, key=lambda r: (_when(r["updated_at"]), r["id"]))
        else:
            chosen = max(mine, key=lambda r: (_when(r["created_at"]), r["id"]))
        campuses[user_id] = chosen["campus_id"]
    return campuses


def without_primary_campus(admin: SimulatorAdmin) -> set[int]:
    """Users none of whose campus_users rows is primary."""
    primary = {r["user_id"] for r in admin.dump("campus_users") if r["is_primary"]}
    return {r["user_id"] for r in admin.dump("campus_users")} - primary


def coalition_ranks(memberships: list[dict]) -> dict[int, int]:
    """Each membership's rank, fresh: 1 + the memberships of the same coalition with a
    higher score (equal scores share a rank). The API's own rank goes stale."""
    scores: dict[int, list[int]] = {}
    for row in memberships:
        scores.setdefault(row["coalition_id"], []).append(row["score"])
    return {
        row["id"]: 1 + sum(score > row["score"] for score in scores[row["coalition_id"]])
        for row in memberships
    }


def expected_live_marts(admin: SimulatorAdmin, cursus_id: int = 21) -> dict[str, dict[int, tuple]]:
    """Rows (by id) of each live mart, from the simulator's dump and the rules."""
    now = _when(admin.call("GET", "health")["now"])
    reference = expected_marts(admin, cursus_id)
    kept = {row[0] for row in reference["campuses"]}
    projects = {row[0] for row in reference["projects"]}
    achievements = {row[0] for row in reference["achievements"]}
    coalitions = {row[0] for row in reference["coalitions"]}

    campus_of = user_campuses(admin.dump("campus_users"), kept)
    cursus_users = [r for r in admin.dump("cursus_users") if r["cursus_id"] == cursus_id]
    enrolled = {r["user"]["id"] for r in cursus_users}
    students = {}
    for user in admin.dump("users"):
        uid = user["id"]
        if (
            user["kind"] == "student"
            and not user["alumni?"]
            and uid in campus_of
            and uid in enrolled
        ):
            anonymized = user["login"].startswith("3b3-") or _when(user["anonymize_date"]) < now
            students[uid] = (
                uid,
                f"3b3-{uid}" if anonymized else user["login"],
                None if anonymized else user["first_name"],
                campus_of[uid],
                user["wallet"],
                user["correction_point"],
                user["pool_year"],
            )
    memberships = [r for r in admin.dump("coalitions_users") if r["coalition_id"] in coalitions]
    ranks = coalition_ranks(memberships)  # among every member, students or not
    return {
        "users": students,
        "cursus_users": {
            r["id"]: (r["id"], r["user"]["id"], r["level"], r["grade"])
            for r in cursus_users
            if r["user"]["id"] in students
        },
        "projects_users": {
            r["id"]: (
                r["id"],
                r["user"]["id"],
                r["project"]["id"],
                r["status"],
                r["final_mark"],
                r["validated?"],
            )
            for r in admin.dump("projects_users")
            if r["user"]["id"] in students and r["project"]["id"] in projects
        },
        "achievements_users": {
            r["id"]: (r["id"], r["user_id"], r["achievement_id"])
            for r in admin.dump("achievements_users")
            if r["user_id"] in students and r["achievement_id"] in achievements
        },
        "coalitions_users": {
            r["id"]: (
                r["id"],
                r["user_id"],
                r["coalition_id"],
                r["score"],
                ranks[r["id"]],
                r["rank"],
            )
            for r in memberships
            if r["user_id"] in students
        },
        "locations": {
            r["id"]: (
                r["id"],
                r["user"]["id"],
                r["campus_id"],
                None if students[r["user"]["id"]][1].startswith("3b3-") else r["host"],
                r["primary"],
                _when(r["begin_at"]),
                _when(r["end_at"]) if r["end_at"] else None,
            )
            for r in admin.dump("locations")
            if r["user"] and r["user"]["id"] in students and r["campus_id"] in kept
        },
    }


# -- logtime ------------------------------------------------------------------------------


def expected_logtime(
    sessions: list[dict], time_zones: dict[int, str], as_of: datetime, cap: timedelta
) -> dict[tuple[int, int, date], int]:
    """Seconds per (user, campus, local day), by the logtime rules, in plain Python: primary
    sessions that begin by ``as_of`` and do not end before they begin; open ones up to
    ``as_of``; each at most ``cap`` long; merged per user and campus; cut at local
    midnights (``zoneinfo``)."""
    spans: dict[tuple[int, int], list[tuple[datetime, datetime]]] = {}
    for session in sessions:
        user, campus = (session.get("user") or {}).get("id"), session["campus_id"]
        if not session["primary"] or user is None or campus not in time_zones:
            continue
        begin = _when(session["begin_at"])
        end = _when(session["end_at"]) if session["end_at"] else as_of
        if begin > as_of or end < begin:
            continue
        spans.setdefault((user, campus), []).append((begin, min(end, as_of, begin + cap)))
    seconds: dict[tuple[int, int, date], float] = {}
    for (user, campus), intervals in spans.items():
        zone = ZoneInfo(time_zones[campus])
        for begin, end in union(intervals):
            day = begin.astimezone(zone).date()
            while True:
                start = datetime.combine(day, time(), zone).astimezone(UTC)
                after = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
                piece = (min(end, after) - max(begin, start)).total_seconds()
                if piece > 0:
                    seconds[(user, campus, day)] = seconds.get((user, campus, day), 0) + piece
                if after >= end:
                    break
                day += timedelta(days=1)
    rounded = {key: math.floor(value + 0.5) for key, value in seconds.items()}
    return {key: value for key, value in rounded.items() if value >= 1}  # whole seconds


def union(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The union of intervals, as disjoint intervals (touching ones joined)."""
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


# -- analytics ----------------------------------------------------------------------------


def expected_attempts(admin: SimulatorAdmin, students: dict[int, tuple]) -> dict[tuple, tuple]:
    """Per (project, campus) and (project, None): registrations, first attempts graded and
    validated, students who ever had an attempt graded and validated, from the teams of
    the students' registrations (first attempt: the earliest team, by created_at then id)."""
    projects = {row[0] for row in expected_marts(admin)["projects"]}
    counts: dict[tuple, list[int]] = {}
    for registration in admin.dump("projects_users"):
        user = registration["user"]["id"]
        if user not in students or registration["project"]["id"] not in projects:
            continue
        teams = sorted(registration["teams"], key=lambda t: (t["created_at"], t["id"]))
        first = teams[0] if teams else {}
        facts = (
            1,
            first.get("status") == "finished",
            first.get("status") == "finished" and bool(first.get("validated?")),
            any(t["status"] == "finished" for t in teams),
            any(t["validated?"] for t in teams),
        )
        campus = students[user][3]
        for key in ((registration["project"]["id"], campus), (registration["project"]["id"], None)):
            total = counts.setdefault(key, [0] * len(facts))
            for i, fact in enumerate(facts):
                total[i] += int(fact)
    return {key: tuple(values) for key, values in counts.items()}


def expected_standings(memberships: dict[int, tuple], coalitions: set[tuple]) -> dict[int, tuple]:
    """Per coalition: members, members with a score, total, average over members with a score
    (2 decimals), rank in the bloc by that average (equal averages share a rank)."""
    by_coalition: dict[int, list[int]] = {}
    for row in memberships.values():
        by_coalition.setdefault(row[2], []).append(row[3])
    bloc_of = {c[0]: c[4] for c in coalitions}
    facts = {}
    for coalition in bloc_of:
        scores = by_coalition.get(coalition, [])
        scored = [s for s in scores if s > 0]
        average = rounded(sum(scored) / len(scored), 2) if scored else None
        facts[coalition] = (len(scores), len(scored), sum(scores), average)
    ranked = {}
    for coalition, (members, scored, total, average) in facts.items():
        rivals = [f[3] for c, f in facts.items() if bloc_of[c] == bloc_of[coalition]]
        if average is None:  # last, all equal
            rank = 1 + sum(r is not None for r in rivals)
        else:
            rank = 1 + sum(r is not None and r > average for r in rivals)
        ranked[coalition] = (members, scored, total, average, rank)
    return ranked


def expected_blackholes(
    enrolments: list[dict],
    campus_at_first_run: dict[int, int],
    changes: list[dict],
    now: datetime,
    cursus_id: int = 21,
) -> dict[tuple[int, date], int]:
    """Blackholes per (campus, month) of the students in scope at the mirror's first run,
    from their enrolments as served then (``enrolments``) and the simulator's change log
    since: a blackhole date that passed while it was the current one, from the cursus's
    begin on, not after the enrolment ended nor after the student left the population, at
    the student's campus at that moment."""
    by_enrolment: dict[int, list[dict]] = {}
    by_user: dict[int, list[dict]] = {}
    for change in changes:
        by_enrolment.setdefault(change["subject_id"], []).append(change)
        if change["user_id"] is not None:
            by_user.setdefault(change["user_id"], []).append(change)
    counts: dict[tuple[int, date], int] = {}
    for enrolment in enrolments:
        user = enrolment["user"]["id"]
        if enrolment["cursus_id"] != cursus_id or user not in campus_at_first_run:
            continue
        own = by_enrolment.get(enrolment["id"], [])
        moves = [c for c in own if c["kind"] == "blackhole_changed"]
        values = [(enrolment["blackholed_at"], None)] + [(c["new"], c["at"]) for c in moves]
        ends = [_when(c["new"]) for c in own if c["kind"] == "cursus_ended"]
        end = _when(enrolment["end_at"]) if enrolment["end_at"] else min(ends, default=None)
        left = [_when(c["at"]) for c in by_user.get(user, []) if c["kind"] in ("became_alumni",)]
        transfers = sorted(
            (_when(c["at"]), c["new"])
            for c in by_user.get(user, [])
            if c["kind"] == "entered_scope" and c["subject"] == "user"
        )
        for i, (value, since) in enumerate(values):
            if value is None:
                continue
            moment = _when(value)
            until = _when(values[i + 1][1]) if i + 1 < len(values) else now
            passed = moment <= until and (since is None or moment >= _when(since))
            in_scope = moment >= _when(enrolment["begin_at"]) and not any(t <= moment for t in left)
            if not passed or not in_scope or (end is not None and moment > end):
                continue
            campus = campus_at_first_run[user]
            for when, new_campus in transfers:
                if when <= moment:
                    campus = new_campus
            month = date(moment.year, moment.month, 1)
            counts[(campus, month)] = counts.get((campus, month), 0) + 1
    return counts


def rounded(value: float, places: int) -> float:
    """Rounded half away from zero, as PostgreSQL rounds numerics (Python's round() rounds
    half to even, and binary floats miss the half: 13.075 -> 13.07)."""
    step = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))
