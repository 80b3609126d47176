"""The API's URL routes: each maps a path to a listing (records of a collection), an object,
or a function of the query parameters that answers an object (``locations_stats``).

Unknown paths raise ``NotFound`` (404 ``{}``), and so do unknown ids in a path. Show routes
accept the slug (cursus, projects) or the login (users) in place of the id, as the API does.

Locations listings refuse what public clients saw refused (docs/api-behaviours.md, locations):
more than ``MAX_LOCATION_IDS`` values in ``filter[id]`` is a 502, and with
``Store.locations_campus_list`` at ``refuse``, ``/v2/locations`` answers a ``filter[campus_id]``
of several campuses with a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from zoneinfo import ZoneInfo

from intra_simulator import render
from intra_simulator.logtime import locations_stats
from intra_simulator.query import BadGateway, QueryError, bracketed
from intra_simulator.store import Listing, NotFound, Store

Answer = Callable[[dict[str, str]], dict]
Route = tuple[re.Pattern, Callable[..., Listing | dict | Answer]]
MAX_LOCATION_IDS = 100


def build_routes(store: Store) -> list[Route]:
    """Every route of the API, as (path pattern, handler of the path's groups)."""

    def listing(name: str) -> Callable[[], Listing]:
        return lambda: store.listing(name)

    def show(name: str, by_slug: bool = False) -> Callable[[str], dict]:
        return lambda key: store.show(name, key, by_slug)

    def of_user(name: str) -> Callable[[str], Listing]:
        def handler(key: str) -> Listing:
            uid = store.find("users", key, by_login=True)["id"]
            return store.listing(name, lambda r: r["user_id"] == uid, key=f"users/{uid}/{name}")

        return handler

    def cursus_projects(key: str) -> Listing:
        cursus_id = store.find("cursus", key, by_slug=True)["id"]
        return store.listing(
            "projects", lambda p: cursus_id in p["cursus_ids"], key=f"cursus/{cursus_id}/projects"
        )

    def campus_achievements(key: str) -> Listing:
        name = store.find("campus", key)["name"]
        return store.listing(
            "achievements", lambda a: name in a["campus"], key=f"campus/{key}/achievements"
        )

    def bloc_coalitions(key: str) -> Listing:
        members = set(store.find("blocs", key)["coalition_ids"])
        return store.listing(
            "coalitions", lambda c: c["id"] in members, key=f"blocs/{key}/coalitions"
        )

    def cursus_cursus_users(key: str) -> Listing:
        cursus_id = store.find("cursus", key, by_slug=True)["id"]
        return store.listing(
            "cursus_users", lambda r: r["cursus_id"] == cursus_id, key=f"cursus/{cursus_id}/cu"
        )

    def users_with(name: str, field: str, value: int) -> Callable[[], Callable[[dict], bool]]:
        """A predicate on users: having a row of ``name`` whose ``field`` is ``value``."""

        def factory() -> Callable[[dict], bool]:
            ids = {r["user_id"] for r in store.collections[name].rows.values() if r[field] == value}
            return lambda user: user["id"] in ids

        return factory

    def cursus_users_of(key: str) -> Listing:
        cursus_id = store.find("cursus", key, by_slug=True)["id"]
        enrolled = users_with("cursus_users", "cursus_id", cursus_id)
        return store.listing("users", key=f"cursus/{cursus_id}/users", keep_factory=enrolled)

    def campus_users_of(key: str) -> Listing:
        campus_id = store.find("campus", key)["id"]
        members = users_with("campus_users", "campus_id", campus_id)
        return store.listing("users", key=f"campus/{campus_id}/users", keep_factory=members)

    def project_projects_users(key: str) -> Listing:
        project_id = store.find("projects", key, by_slug=True)["id"]
        return store.listing(
            "projects_users",
            lambda r: r["project_id"] == project_id,
            key=f"projects/{project_id}/pu",
        )

    def coalition_members(key: str) -> Listing:
        coalition_id = store.find("coalitions", key)["id"]
        return store.listing(
            "coalitions_users",
            lambda r: r["coalition_id"] == coalition_id,
            key=f"co/{coalition_id}",
        )

    def user(key: str) -> dict:
        return render.full_user(store, store.find("users", key, by_login=True))

    def location_checks(campus_lists: bool) -> Callable[[dict[str, str]], None]:
        def check(params: dict[str, str]) -> None:
            filters = bracketed(params, "filter")
            ids = [v for v in filters.get("id", "").split(",") if v]
            if len(ids) > MAX_LOCATION_IDS:
                raise BadGateway(f"filter[id] with {len(ids)} values")
            campuses = [v for v in filters.get("campus_id", "").split(",") if v]
            if campus_lists and store.locations_campus_list == "refuse" and len(campuses) > 1:
                raise QueryError(
                    "Filter",
                    f"Value {filters['campus_id']} is not allowed for filter campus_id, "
                    "can be one campus id",
                )

        return check

    def locations() -> Listing:
        return store.listing("locations", check=location_checks(campus_lists=True))

    def campus_locations(key: str) -> Listing:
        campus_id = store.find("campus", key)["id"]
        return store.listing(
            "locations",
            lambda r: r.get("campus_id") == campus_id,
            key=f"campus/{campus_id}/locations",
            check=location_checks(campus_lists=False),
        )

    def user_locations(key: str) -> Listing:
        uid = store.find("users", key, by_login=True)["id"]
        return store.listing(
            "locations",
            lambda r: r.get("user_id") == uid,
            key=f"users/{uid}/locations",
            check=location_checks(campus_lists=False),
        )

    def user_locations_stats(key: str) -> Answer:
        uid = store.find("users", key, by_login=True)["id"]

        def answer(params: dict[str, str]) -> dict:
            zone = params.get("time_zone") or None
            begin, end = params.get("begin_at") or None, params.get("end_at") or None
            try:
                if zone:
                    ZoneInfo(zone)
                for bound in (begin, end):
                    if bound:
                        date.fromisoformat(bound[:10])
            except (KeyError, ValueError):
                raise QueryError(
                    "Param", "time_zone must be a time zone, begin_at and end_at dates"
                ) from None
            sessions = [
                r for r in store.collections["locations"].rows.values() if r.get("user_id") == uid
            ]
            zones = {c["id"]: c["time_zone"] for c in store.collections["campus"].rows.values()}
            return locations_stats(sessions, zones, store.now(), zone, begin, end)

        return answer

    def me() -> dict:
        raise NotFound("/v2/me has no user with an application token")

    routes: list[tuple[str, Callable]] = [
        (r"/v2/cursus", listing("cursus")),
        (r"/v2/cursus/([^/]+)", show("cursus", by_slug=True)),
        (r"/v2/cursus/([^/]+)/projects", cursus_projects),
        (r"/v2/cursus/([^/]+)/cursus_users", cursus_cursus_users),
        (r"/v2/cursus/([^/]+)/users", cursus_users_of),
        (r"/v2/campus", listing("campus")),
        (r"/v2/campus/([^/]+)", show("campus")),
        (r"/v2/campus/([^/]+)/achievements", campus_achievements),
        (r"/v2/campus/([^/]+)/users", campus_users_of),
        (r"/v2/campus/([^/]+)/locations", campus_locations),
        (r"/v2/projects", listing("projects")),
        (r"/v2/projects/([^/]+)", show("projects", by_slug=True)),
        (r"/v2/projects/([^/]+)/projects_users", project_projects_users),
        (r"/v2/achievements", listing("achievements")),
        (r"/v2/achievements/([^/]+)", show("achievements")),
        (r"/v2/coalitions", listing("coalitions")),
        (r"/v2/coalitions/([^/]+)", show("coalitions")),
        (r"/v2/coalitions/([^/]+)/coalitions_users", coalition_members),
        (r"/v2/blocs", listing("blocs")),
        (r"/v2/blocs/([^/]+)", show("blocs")),
        (r"/v2/blocs/([^/]+)/coalitions", bloc_coalitions),
        (r"/v2/users", listing("users")),
        (r"/v2/users/([^/]+)", user),
        (r"/v2/users/([^/]+)/projects_users", of_user("projects_users")),
        (r"/v2/users/([^/]+)/cursus_users", of_user("cursus_users")),
        (r"/v2/users/([^/]+)/campus_users", of_user("campus_users")),
        (r"/v2/users/([^/]+)/coalitions_users", of_user("coalitions_users")),
        (r"/v2/users/([^/]+)/achievements_users", of_user("achievements_users")),
        (r"/v2/users/([^/]+)/locations", user_locations),
        (r"/v2/users/([^/]+)/locations_stats", user_locations_stats),
        (r"/v2/me", me),
        (r"/v2/cursus_users", listing("cursus_users")),
        (r"/v2/campus_users", listing("campus_users")),
        (r"/v2/projects_users", listing("projects_users")),
        (r"/v2/achievements_users", listing("achievements_users")),
        (r"/v2/coalitions_users", listing("coalitions_users")),
        (r"/v2/locations", locations),
        (r"/v2/locations/([^/]+)", show("locations")),
    ]
    return [(re.compile(pattern), handler) for pattern, handler in routes]
