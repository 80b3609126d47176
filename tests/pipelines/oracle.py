"""What the marts must contain, computed straight from the simulator's own data.

Independent of the pipeline: it reads the simulator's full dump (``/_sim/dump/<collection>``,
the API objects as the server renders them) and applies the business rules in plain Python.
Integration tests compare every mart table with it.
"""

from __future__ import annotations

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
