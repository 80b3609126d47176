"""Every object the simulator serves has the keys, nesting and value types of real payloads.

The real payloads are in tests/fixtures/intra_samples. For each object type we collect, over
all objects, the JSON types seen at every path (``campus[].language.id`` -> {integer}); the
simulated objects must show exactly the same paths, and at each path only types the real data
shows too, except for the few quirks the real data has but these samples happen not to show
(each listed with its source).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from intra_simulator.generate import build_dataset
from intra_simulator.population import build_population
from intra_simulator.world import Clock, World

SAMPLES = Path(__file__).parent.parent / "fixtures" / "intra_samples"
TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
}

# Quirks of the real data that these samples do not show.
DOCUMENTED_EXTRAS = {
    # About one cursus-21 project in ten has a null slug (docs/api-behaviours.md).
    ("projects", "slug"): {"null"},
    # The light user nested in locations is the one every listing embeds: some users have a
    # usual first name or no photo, staff have no pool (the samples show students only).
    **{
        ("locations", f"user.{path}"): {"string", "null"}
        for path in (
            "usual_first_name",
            "image.link",
            *(f"image.versions.{size}" for size in ("large", "medium", "small", "micro")),
            "pool_month",
            "pool_year",
        )
    },
}


def signature(objects: list, path: str = "") -> dict[str, set[str]]:
    seen: dict[str, set[str]] = defaultdict(set)

    def walk(value: object, where: str) -> None:
        seen[where].add("null" if value is None else TYPE_NAMES[type(value)])
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else key)
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{where}[]")

    for obj in objects:
        walk(obj, path)
    return seen


def load_samples(pattern: str) -> list[dict]:
    objects: list[dict] = []
    for file in sorted(SAMPLES.glob(pattern)):
        objects.extend(json.loads(file.read_text()))
    return objects


@pytest.fixture(scope="module")
def world() -> World:
    return World(build_dataset("network", seed=42), Clock())


@pytest.mark.parametrize(
    ("collection", "pattern"),
    [
        ("campus", "campus_page_1.json"),
        ("cursus", "cursus_page_1.json"),
        ("projects", "projects_page_*.json"),
        ("achievements", "achievements_page_*.json"),
        ("coalitions", "coalitions_sample.json"),
    ],
)
def test_simulated_objects_have_the_shape_of_real_ones(
    world: World, collection: str, pattern: str
) -> None:
    real = signature(load_samples(pattern))
    simulated = signature(world.store.dump(collection))

    assert set(simulated) == set(real), "paths differ from the real payloads"
    for path, types in simulated.items():
        allowed = real[path] | DOCUMENTED_EXTRAS.get((collection, path), set())
        assert types <= allowed, f"{collection}.{path}: simulated {types}, real {real[path]}"


def test_blocs_nest_full_coalitions(world: World) -> None:
    """No bloc sample exists: a bloc nests full coalition objects, as public clients show."""
    coalition_shape = signature(load_samples("coalitions_sample.json"), "coalitions[]")
    blocs = signature(world.store.dump("blocs"))
    expected_top = {
        "id",
        "campus_id",
        "cursus_id",
        "squad_size",
        "created_at",
        "updated_at",
        "coalitions",
    }
    assert {p for p in blocs if p and "." not in p and "[" not in p} == expected_top
    nested = {p: t for p, t in blocs.items() if p.startswith("coalitions[]")}
    assert set(nested) == set(coalition_shape)
    for path, types in nested.items():
        assert types <= coalition_shape[path]
    assert blocs["squad_size"] <= {"integer", "null"}


def test_timestamps_look_like_the_api(world: World) -> None:
    stamps = [p["updated_at"] for p in world.store.dump("projects")]
    assert all(len(s) == 24 and s.endswith("Z") and s[19] == "." for s in stamps)


def test_quirks_are_present(world: World) -> None:
    projects = [p for p in world.store.dump("projects") if any(c["id"] == 21 for c in p["cursus"])]
    campuses = world.store.dump("campus")
    kept = {c["id"] for c in campuses if c["active"] and c["public"]}
    names = {c["name"] for c in campuses}

    assert 500 <= len(projects) <= 560, "about 540 projects in cursus 21"
    assert sum(p["slug"] is None for p in projects) >= 40, "null slugs"
    assert any(not {c["id"] for c in p["campus"]} & kept for p in projects), (
        "projects only at dropped campuses"
    )
    assert any(not c["active"] for c in campuses) and any(
        c["active"] and not c["public"] for c in campuses
    )
    achievement_names = {n for a in world.store.dump("achievements") for n in a["campus"]}
    assert any(n != n.strip() for n in achievement_names), "names with trailing spaces"
    assert achievement_names - names - {n + " " for n in names}, "names matching no campus"
    slugs = [c["slug"] for c in world.store.dump("coalitions")]
    assert slugs.count("analysts") == 2
    colors = [c["color"] for c in world.store.dump("coalitions")]
    assert any(not c.startswith("#") for c in colors)
    assert 55 <= len(campuses) <= 80 and len(world.store.dump("cursus")) == 76
    assert 1000 <= len(world.store.dump("achievements")) <= 1300
    assert 300 <= len(world.store.dump("coalitions")) <= 400


# Objects without a real sample: the shapes public clients describe (docs/api-behaviours.md).
LIGHT_USER = set(
    [
        "id",
        "email",
        "login",
        "first_name",
        "last_name",
        "usual_full_name",
        "usual_first_name",
        "url",
        "phone",
        "displayname",
        "kind",
        "image",
        "staff?",
        "correction_point",
        "pool_month",
        "pool_year",
        "location",
        "wallet",
        "anonymize_date",
        "data_erasure_date",
        "created_at",
        "updated_at",
        "alumnized_at",
        "alumni?",
        "active?",
    ]
)
DOCUMENTED = {
    "users": LIGHT_USER,
    "cursus_users": set(
        [
            "id",
            "begin_at",
            "end_at",
            "grade",
            "level",
            "skills",
            "cursus_id",
            "has_coalition",
            "blackholed_at",
            "created_at",
            "updated_at",
            "user",
            "cursus",
        ]
    ),
    "projects_users": set(
        [
            "id",
            "occurrence",
            "final_mark",
            "status",
            "validated?",
            "current_team_id",
            "project",
            "cursus_ids",
            "marked_at",
            "marked",
            "retriable_at",
            "created_at",
            "updated_at",
            "user",
            "teams",
        ]
    ),
    "campus_users": set(["id", "user_id", "campus_id", "is_primary", "created_at", "updated_at"]),
    "achievements_users": set(
        [
            "id",
            "achievement_id",
            "user_id",
            "login",
            "nbr_of_success",
            "url",
            "created_at",
            "updated_at",
        ]
    ),
    "coalitions_users": set(
        ["id", "coalition_id", "user_id", "score", "rank", "created_at", "updated_at"]
    ),
}
TEAM = {
    "id", "name", "url", "final_mark", "project_id", "created_at", "updated_at", "status",
    "terminating_at", "users", "locked?", "validated?", "closed?", "repo_url", "repo_uuid",
    "locked_at", "closed_at", "project_session_id", "project_gitlab_path",
}  # fmt: skip


@pytest.fixture(scope="module")
def populated() -> World:
    data = build_dataset("small", seed=42)
    _, builder = build_population(data, 42, "small")
    return World(data, Clock(), builder=builder)


@pytest.mark.parametrize("collection", sorted(DOCUMENTED))
def test_live_objects_have_the_documented_keys(populated: World, collection: str) -> None:
    objects = populated.store.dump(collection)
    assert objects
    assert all(set(obj) == DOCUMENTED[collection] for obj in objects)


def test_live_objects_nest_and_type_like_the_api(populated: World) -> None:
    cursus_user = populated.store.dump("cursus_users")[0]
    assert set(cursus_user["user"]) == LIGHT_USER and isinstance(cursus_user["level"], float)
    assert set(cursus_user["cursus"]) == {"id", "created_at", "name", "slug", "kind"}
    projects_users = populated.store.dump("projects_users")
    assert {type(p["validated?"]) for p in projects_users} == {bool, type(None)}, (
        "tri-state validated?"
    )
    assert any(p["final_mark"] is None for p in projects_users) and any(
        (p["final_mark"] or 0) > 100 for p in projects_users
    ), "marks above 100 and null"
    assert set(projects_users[0]["project"]) == {"id", "name", "slug", "parent_id"}
    assert set(projects_users[0]["teams"][0]) == TEAM
    users = populated.store.dump("users")
    assert {u["kind"] for u in users} == {"student", "admin", "external"}
    assert any(u["login"].startswith("3b3-") for u in users), "anonymized users"
    assert any(u["alumni?"] for u in users)
    assert all(u["anonymize_date"][-6] in "+-" for u in users), "campus-local offsets"
    full = populated.store.collections["users"].render  # light in listings; /v2/users/:id is fuller
    assert set(full(populated.store.collections["users"].rows[users[0]["id"]])) == LIGHT_USER


def test_locations_have_the_shape_and_key_order_of_real_ones(populated: World) -> None:
    """Locations have a real sample: the same paths and types, and the same key order, for the
    session and for its nested light user."""
    samples = load_samples("locations_*.json")
    objects = populated.store.dump("locations")
    real, simulated = signature(samples), signature(objects)
    assert set(simulated) == set(real), "paths differ from the real payloads"
    for path, types in simulated.items():
        allowed = real[path] | DOCUMENTED_EXTRAS.get(("locations", path), set())
        assert types <= allowed, f"locations.{path}: simulated {types}, real {real[path]}"
    assert {tuple(o) for o in objects} == {tuple(o) for o in samples}
    assert {tuple(o["user"]) for o in objects} == {tuple(o["user"]) for o in samples}
    assert all(
        len(o[key]) == 24 and o[key].endswith("Z")
        for o in objects
        for key in ("begin_at", "end_at")
        if o[key]
    )
