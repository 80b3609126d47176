"""What the marts must contain, computed straight from the simulator's own data.

Independent of the pipeline: it reads the simulator's full dump (``/_sim/dump/<collection>``,
the API objects as the server renders them) and applies the business rules in plain Python.
Integration tests compare every mart table with it.
"""

from __future__ import annotations

from datetime import datetime

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
    }
