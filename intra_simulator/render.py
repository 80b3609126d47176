"""How each stored record is rendered as the API's JSON object.

Key order and nesting follow the real payloads (tests/fixtures/intra_samples) and, for the
objects without a sample, the shapes public clients describe (docs/api-behaviours.md, object shapes
without a real sample). Nested copies of other objects are built from the
current state of those objects, as the real API embeds them.
"""

from __future__ import annotations

import hashlib

from intra_simulator import catalog
from intra_simulator.store import Store

LIGHT_USER_KEYS = (
    "id", "email", "login", "first_name", "last_name", "usual_full_name", "usual_first_name",
    "url", "phone", "displayname", "kind", "image", "staff?", "correction_point", "pool_month",
    "pool_year", "location", "wallet", "anonymize_date", "data_erasure_date", "created_at",
    "updated_at", "alumnized_at", "alumni?", "active?",
)  # fmt: skip
CURSUS_USER_KEYS = (
    "id", "begin_at", "end_at", "grade", "level", "skills", "cursus_id", "has_coalition",
    "blackholed_at", "created_at", "updated_at",
)  # fmt: skip
CAMPUS_USER_KEYS = ("id", "user_id", "campus_id", "is_primary", "created_at", "updated_at")
COALITIONS_USER_KEYS = (
    "id",
    "coalition_id",
    "user_id",
    "score",
    "rank",
    "created_at",
    "updated_at",
)


def plain(store: Store, record: dict) -> dict:
    return record


def embedded_campus(campus: dict) -> dict:
    """Campuses nested in projects have no ``endpoint`` and a timestamped ``language``."""
    body = {k: v for k, v in campus.items() if k != "endpoint"}
    lang = campus["language"]
    created, updated = catalog.LANGUAGES[lang["id"]][2:]
    body["language"] = {**lang, "created_at": created, "updated_at": updated}
    return body


def project(store: Store, record: dict) -> dict:
    cursus = store.collections["cursus"].rows
    campus = store.collections["campus"].rows
    body = {}
    for key, value in record.items():
        if key == "cursus_ids":
            body["cursus"] = [cursus[c] for c in value if c in cursus]
        elif key == "campus_ids":
            body["campus"] = [embedded_campus(campus[c]) for c in value if c in campus]
        else:
            body[key] = value
    return body


def bloc(store: Store, record: dict) -> dict:
    coalitions = store.collections["coalitions"].rows
    body = {k: v for k, v in record.items() if k != "coalition_ids"}
    body["coalitions"] = [coalitions[c] for c in record["coalition_ids"] if c in coalitions]
    return body


def light_user(store: Store, user: dict) -> dict:
    return {key: user[key] for key in LIGHT_USER_KEYS}


def full_user(store: Store, user: dict) -> dict:
    """``/v2/users/:id``: the light user plus the user's own lists."""
    uid = user["id"]
    body = light_user(store, user)
    mine = store.owned_by(uid)
    campus_rows = store.collections["campus"].rows
    body.update(
        groups=[],
        cursus_users=[cursus_user(store, r) for r in mine["cursus_users"]],
        projects_users=[
            {k: v for k, v in projects_user(store, r).items() if k not in ("user", "teams")}
            for r in mine["projects_users"]
        ],
        languages_users=[],
        achievements=[
            {k: v for k, v in store.collections["achievements"].rows[r["achievement_id"]].items()}
            for r in mine["achievements_users"]
            if r["achievement_id"] in store.collections["achievements"].rows
        ],
        titles=[],
        titles_users=[],
        partnerships=[],
        patroned=[],
        patroning=[],
        expertises_users=[],
        roles=[],
        campus=[
            campus_rows[r["campus_id"]]
            for r in mine["campus_users"]
            if r["campus_id"] in campus_rows
        ],
        campus_users=[campus_user(store, r) for r in mine["campus_users"]],
    )
    body["achievements"] = [{k: a[k] for k in list(a)[:9]} for a in body["achievements"]]
    return body


def cursus_user(store: Store, record: dict) -> dict:
    body = {key: record[key] for key in CURSUS_USER_KEYS}
    body["user"] = light_user(store, store.collections["users"].rows[record["user_id"]])
    body["cursus"] = store.collections["cursus"].rows.get(record["cursus_id"])
    return body


def campus_user(store: Store, record: dict) -> dict:
    return {key: record[key] for key in CAMPUS_USER_KEYS}


def coalitions_user(store: Store, record: dict) -> dict:
    return {key: record[key] for key in COALITIONS_USER_KEYS}


def _digest(*parts: object) -> str:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).hexdigest()


def team(store: Store, stored: dict, projects_user_id: int, occurrence: int) -> dict:
    users = store.collections["users"].rows
    members = [users[uid] for uid in stored["user_ids"] if uid in users]
    if store.team_logins == "frozen":  # see Store.team_logins
        members = [
            {**m, "login": login, "url": f"https://api.intra.42.fr/v2/users/{login}"}
            for m in members
            for login in [store.former_logins.get(m["id"], m["login"])]
        ]
    leader = members[0]["login"] if members else "team"
    status = stored["status"]
    return {
        "id": stored["id"],
        "name": f"{leader}'s group",
        "url": f"https://api.intra.42.fr/v2/teams/{stored['id']}",
        "final_mark": stored["final_mark"],
        "project_id": stored["project_id"],
        "created_at": stored["created_at"],
        "updated_at": stored["updated_at"],
        "status": status,
        "terminating_at": None,
        "users": [
            {
                "id": member["id"],
                "login": member["login"],
                "url": member["url"],
                "leader": index == 0,
                "occurrence": occurrence,
                "validated": bool(stored["validated?"]),
                "projects_user_id": projects_user_id,
            }
            for index, member in enumerate(members)
        ],
        "locked?": stored["locked_at"] is not None,
        "validated?": stored["validated?"],
        "closed?": stored["closed_at"] is not None,
        # the repository path ends with the team id and its leader's login
        "repo_url": (
            "git@vogsphere.42.fr:vogsphere/intra-uuid-"
            f"{_digest('repo', stored['id'])}-{stored['id']}-{leader}"
        ),
        "repo_uuid": f"intra-uuid-{_digest('uuid', stored['id'])}",
        "locked_at": stored["locked_at"],
        "closed_at": stored["closed_at"],
        "project_session_id": stored["project_session_id"],
        "project_gitlab_path": None,
    }


def projects_user(store: Store, record: dict) -> dict:
    projects = store.collections["projects"].rows
    linked = projects.get(record["project_id"])
    return {
        "id": record["id"],
        "occurrence": record["occurrence"],
        "final_mark": record["final_mark"],
        "status": record["status"],
        "validated?": record["validated?"],
        "current_team_id": record["current_team_id"],
        "project": {
            "id": record["project_id"],
            "name": linked["name"] if linked else None,
            "slug": linked["slug"] if linked else None,
            "parent_id": (linked["parent"] or {}).get("id") if linked else None,
        },
        "cursus_ids": record["cursus_ids"],
        "marked_at": record["marked_at"],
        "marked": record["marked"],
        "retriable_at": record["retriable_at"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "user": light_user(store, store.collections["users"].rows[record["user_id"]]),
        "teams": [
            team(store, stored, record["id"], attempt)
            for stored, attempt in zip(record["teams"], attempts(record), strict=True)
        ],
    }


def attempts(record: dict) -> list[int]:
    """The ``occurrence`` of each of a registration's teams: each team is one attempt, the
    last one the registration's current ``occurrence``, the earlier ones counting down."""
    last = record["occurrence"]
    count = len(record["teams"])
    return [last - (count - 1 - index) for index in range(count)]


def achievements_user(store: Store, record: dict) -> dict:
    user = store.collections["users"].rows[record["user_id"]]
    return {
        "id": record["id"],
        "achievement_id": record["achievement_id"],
        "user_id": record["user_id"],
        "login": user["login"],
        "nbr_of_success": record["nbr_of_success"],
        "url": user["url"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }


def location(store: Store, record: dict) -> dict:
    """A session at a campus seat: its user is the light user, or null for a user the intra
    does not know (only an admin-inserted record has one); a missing key serves as null."""
    user = store.collections["users"].rows.get(record.get("user_id"))
    return {
        "end_at": record.get("end_at"),
        "id": record["id"],
        "begin_at": record.get("begin_at"),
        "primary": record.get("primary"),
        "host": record.get("host"),
        "campus_id": record.get("campus_id"),
        "user": light_user(store, user) if user is not None else None,
    }
