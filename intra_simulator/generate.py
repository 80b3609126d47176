"""Build a deterministic simulated 42 network from a scale preset and a seed.

Each section (campuses, cursus, projects, achievements, blocs) draws from its own random stream
seeded with ``f"{seed}:{section}"``, so adding a section never changes the others. Records are
returned in their *stored* form (see ``store``): API objects whose nested copies of other
objects are kept as ids and rendered at request time.

The quirks of the real data are produced on purpose, in numbers proportional to the scale:
null project slugs and difficulties, cursus projects offered only at inactive campuses, sessions
at campuses the project does not list, achievement campus names with trailing spaces or naming
no campus at all, two coalitions sharing the slug ``analysts``, colours without ``#`` or with
leading whitespace, and timestamps with milliseconds and ``Z``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from intra_simulator import catalog
from intra_simulator.names import ACHIEVEMENT_NAMES, COALITION_NAMES, CURSUS_PROJECT_NAMES, WORDS

# Every generated timestamp lies before this instant, so that the simulator's clock (which
# starts at the real time of day) is always later than the data it serves.
DATA_EPOCH = datetime(2026, 9, 1, tzinfo=UTC)
MAIN_CURSUS_ID = 21


def iso(moment: datetime) -> str:
    """Format like the API: UTC, millisecond precision, ``Z`` suffix."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Scale:
    """How big a simulated network is. ``network`` matches the real one."""

    name: str
    campus_ids: tuple[int, ...] | None  # None: every campus of the catalog
    cursus_ids: tuple[int, ...] | None  # None: every cursus of the catalog
    projects: int  # all projects
    cursus_projects: int  # projects of the main cursus (21)
    orphan_cursus_projects: int  # main-cursus projects offered only at dropped campuses
    null_slug_projects: int
    campuses_per_project: tuple[int, int]  # kept campuses linked to a main-cursus project
    sessions_per_project: tuple[int, int]  # campus sessions of a main-cursus project
    achievements: int
    coalitions_per_bloc: tuple[int, int]
    other_blocs: int  # blocs of other cursus


SCALES = {
    "tiny": Scale(
        name="tiny",
        campus_ids=(1, 9, 12, 13, 21, 7, 27, 54),
        cursus_ids=(1, 3, 9, 21, 36, 53, 78, 85),
        projects=40,
        cursus_projects=18,
        orphan_cursus_projects=2,
        null_slug_projects=2,
        campuses_per_project=(2, 5),
        sessions_per_project=(1, 4),
        achievements=60,
        coalitions_per_bloc=(3, 4),
        other_blocs=2,
    ),
    "small": Scale(
        name="small",
        campus_ids=(1, 9, 12, 13, 14, 16, 20, 21, 22, 25, 26, 29, 41, 51, 7, 8, 17, 27, 42, 54),
        cursus_ids=None,
        projects=300,
        cursus_projects=120,
        orphan_cursus_projects=5,
        null_slug_projects=12,
        campuses_per_project=(4, 14),
        sessions_per_project=(2, 10),
        achievements=300,
        coalitions_per_bloc=(3, 5),
        other_blocs=8,
    ),
    "network": Scale(
        name="network",
        campus_ids=None,
        cursus_ids=None,
        projects=1733,
        cursus_projects=538,
        orphan_cursus_projects=19,
        null_slug_projects=52,
        campuses_per_project=(25, 54),
        sessions_per_project=(6, 18),
        achievements=1152,
        coalitions_per_bloc=(3, 5),
        other_blocs=20,
    ),
}

TIERS = ("none",) * 10 + ("easy",) * 3 + ("medium",) * 4 + ("hard",) * 2 + ("challenge",)
KINDS = ("social",) * 8 + ("pedagogy",) * 6 + ("scolarity",) * 5 + ("project",) * 3
ESTIMATES = ("1 day",) * 6 + (None,) * 3 + ("2 days", "7 days", "48 hours", "0 days", "14 days")


@dataclass
class Dataset:
    """Reference data in stored form, ordered by id."""

    cursus: list[dict] = field(default_factory=list)
    campuses: list[dict] = field(default_factory=list)
    projects: list[dict] = field(default_factory=list)
    achievements: list[dict] = field(default_factory=list)
    coalitions: list[dict] = field(default_factory=list)
    blocs: list[dict] = field(default_factory=list)


def build_dataset(scale: str = "tiny", seed: int = 42) -> Dataset:
    """Build the reference data of a simulated network."""
    try:
        spec = SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}") from None
    data = Dataset()
    data.cursus = _cursus(spec)
    data.campuses = _campuses(spec, random.Random(f"{seed}:campuses"))
    data.projects = _projects(spec, data, random.Random(f"{seed}:projects"))
    data.achievements = _achievements(spec, data, random.Random(f"{seed}:achievements"))
    data.coalitions, data.blocs = _blocs(spec, data, random.Random(f"{seed}:blocs"))
    return data


def _moment(rng: random.Random, start_year: int = 2015, end: datetime = DATA_EPOCH) -> datetime:
    start = datetime(start_year, 1, 1, tzinfo=UTC)
    seconds = rng.uniform(0, (end - start).total_seconds())
    return start + timedelta(seconds=seconds, microseconds=rng.randrange(1000) * 1000)


def _stamps(rng: random.Random, start_year: int = 2015) -> tuple[str, str]:
    created = _moment(rng, start_year)
    updated = created + timedelta(seconds=rng.uniform(0, (DATA_EPOCH - created).total_seconds()))
    return iso(created), iso(updated)


def _cursus(spec: Scale) -> list[dict]:
    rows = [r for r in catalog.CURSUS if spec.cursus_ids is None or r[0] in spec.cursus_ids]
    return [
        {"id": cid, "created_at": created, "name": name, "slug": slug, "kind": kind}
        for cid, name, slug, kind, created in rows
    ]


def _campuses(spec: Scale, rng: random.Random) -> list[dict]:
    rows = [r for r in catalog.CAMPUSES if spec.campus_ids is None or r[0] in spec.campus_ids]
    campuses = []
    for cid, name, city, country, tz, lang_id, active, public, email_ext in rows:
        lang_name, lang_code, _, _ = catalog.LANGUAGES[lang_id]
        endpoint = None
        if active and rng.random() < 0.85:
            created, updated = _stamps(rng, 2018)
            host = (email_ext or f"campus{cid}.42.fr").split(",")[0]
            endpoint = {
                "id": cid + rng.randrange(1, 5),
                "url": f"https://endpoint.{host}:4000",
                "description": f"Endpoint {name.strip()}",
                "created_at": created,
                "updated_at": updated,
            }
        campuses.append(
            {
                "id": cid,
                "name": name,
                "time_zone": tz,
                "language": {"id": lang_id, "name": lang_name, "identifier": lang_code},
                "users_count": rng.randrange(2, 12000) if active else rng.randrange(0, 20000),
                "vogsphere_id": rng.randrange(1, 80) if rng.random() < 0.9 else None,
                "country": country,
                "address": f"{rng.randrange(1, 200)} {rng.choice(WORDS).title()} Street",
                "zip": f"{rng.randrange(1000, 99999):05d}",
                "city": city,
                "website": f"https://www.{(email_ext or 'campus.42.fr')}/",
                "facebook": "" if rng.random() < 0.7 else f"https://www.facebook.com/42{cid}",
                "twitter": "" if rng.random() < 0.8 else f"https://twitter.com/42_{cid}",
                "active": active,
                "public": public,
                "email_extension": email_ext,
                "default_hidden_phone": rng.random() < 0.1,
                "endpoint": endpoint,
            }
        )
    return campuses


def kept(campus: dict) -> bool:
    return campus["active"] and campus["public"]


def _projects(spec: Scale, data: Dataset, rng: random.Random) -> list[dict]:
    kept_ids = [c["id"] for c in data.campuses if kept(c)]
    dropped_ids = [c["id"] for c in data.campuses if not kept(c)]
    all_ids = kept_ids + dropped_ids
    other_cursus = [c["id"] for c in data.cursus if c["id"] != MAIN_CURSUS_ID]

    ids = sorted(rng.sample(range(1, max(2 * spec.projects, 2800)), spec.projects))
    main_ids = set(rng.sample(ids[len(ids) // 3 :], spec.cursus_projects))
    main_sorted = sorted(main_ids)
    orphan_ids = set(rng.sample(main_sorted, spec.orphan_cursus_projects))
    null_slug_ids = set(rng.sample(sorted(main_ids - orphan_ids), spec.null_slug_projects))
    names = iter(CURSUS_PROJECT_NAMES)
    session_ids = iter(range(1000, 10**7))

    projects = []
    for pid in ids:
        main = pid in main_ids
        name = next(names, None) if main else None
        name = name or f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {pid}"
        created, updated = _stamps(rng, 2019 if main else 2015)
        slug = None if pid in null_slug_ids else ("42cursus-" if main else "") + slugify(name)
        if main:
            cursus_ids = [MAIN_CURSUS_ID]
            if rng.random() < 0.1 and other_cursus:
                cursus_ids.append(rng.choice(other_cursus))
            if pid in orphan_ids:
                campus_ids = rng.sample(dropped_ids, min(len(dropped_ids), rng.randint(1, 3)))
            else:
                low, high = spec.campuses_per_project
                count = min(len(kept_ids), rng.randint(low, high))
                campus_ids = rng.sample(kept_ids, count)
                campus_ids += rng.sample(dropped_ids, min(len(dropped_ids), rng.randint(0, 3)))
        else:
            cursus_ids = rng.sample(other_cursus, min(len(other_cursus), rng.randint(1, 2)))
            campus_ids = rng.sample(all_ids, min(len(all_ids), rng.randint(0, 3)))
        campus_ids.sort()
        project = {
            "id": pid,
            "name": name,
            "slug": slug,
            "difficulty": None if slug is None else rng.choice((0, 25, 100, 150, 225, 462, 9450)),
            "parent": None,
            "children": [],
            "attachments": [],
            "created_at": created,
            "updated_at": updated,
            "exam": name.startswith("Exam") or rng.random() < 0.03,
            "git_id": rng.randrange(1, 500) if rng.random() < 0.6 else None,
            "repository": None,
            "recommendation": "forbidden",
            "cursus_ids": cursus_ids,
            "campus_ids": campus_ids,
            "videos": [],
            "project_sessions": [],
        }
        if project["git_id"] is not None:
            project["repository"] = str(rng.randrange(1, 500))
        # One default session (campus null) plus sessions at some of the project's campuses.
        low, high = spec.sessions_per_project if main else (0, 2)
        count = min(len(campus_ids), rng.randint(low, high))
        session_campuses = [None, *rng.sample(campus_ids, count)]
        if main and rng.random() < 0.15:
            session_campuses.append(rng.choice(all_ids))  # a session at a campus not listed
        for campus_id in session_campuses:
            session_cursus = MAIN_CURSUS_ID if main else rng.choice(cursus_ids)
            project["project_sessions"].append(
                _session(rng, next(session_ids), project, campus_id, session_cursus)
            )
        projects.append(project)

    _link_parents(rng, projects, main_ids)
    return projects


def _session(rng: random.Random, sid: int, project: dict, campus_id, cursus_id) -> dict:
    created, updated = _stamps(rng, int(project["created_at"][:4]))
    timed = rng.random() < 0.1
    begin = _moment(rng, 2020) if timed else None
    objectives = rng.sample(("Rigor", "Unix", "Algorithms & AI", "Imperative programming"), 2)
    return {
        "id": sid,
        "solo": rng.random() < 0.75,
        "begin_at": iso(begin) if begin else None,
        "end_at": iso(begin + timedelta(days=30)) if begin else None,
        "estimate_time": rng.choice(ESTIMATES),
        "difficulty": project["difficulty"],
        "objectives": objectives if rng.random() < 0.99 else None,
        "description": f"Session {sid} of {project['name']}." if rng.random() < 0.99 else None,
        "duration_days": rng.choice((None,) * 20 + (1, 3, 14)),
        "terminating_after": rng.choice((None, None, 1, 1, 2, 3, 14)),
        "project_id": project["id"],
        "campus_id": campus_id,
        "cursus_id": cursus_id if rng.random() < 0.7 else None,
        "created_at": created,
        "updated_at": updated,
        "max_people": rng.choice((None,) * 30 + (1, 3, 100)),
        "is_subscriptable": rng.random() < 0.75,
        "scales": [
            {
                "id": rng.randrange(1, 40000),
                "correction_number": rng.randint(1, 4),
                "is_primary": i == 0,
            }
            for i in range(rng.choice((0, 1, 1, 1, 2)))
        ],
        "uploads": [{"id": rng.randrange(1, 400), "name": "Moulinette"}]
        if rng.random() < 0.25
        else [],
        "team_behaviour": rng.choice(("user",) * 12 + ("by_rule", "upload")),
        "commit": f"{rng.getrandbits(160):040x}" if rng.random() < 0.4 else None,
    }


def _link_parents(rng: random.Random, projects: list[dict], main_ids: set[int]) -> None:
    """Give some projects a parent; children lists mirror the parents exactly."""
    by_id = {p["id"]: p for p in projects}
    with_slug = [p for p in projects if p["slug"] is not None]
    main_parents = [p for p in with_slug if p["id"] in main_ids]
    outside_parents = [p for p in with_slug if p["id"] not in main_ids]
    for project in projects:
        if rng.random() >= 0.3 or project["id"] not in main_ids:
            continue
        pool = outside_parents if rng.random() < 0.03 else main_parents
        candidates = [p for p in pool if p["id"] != project["id"] and p["parent"] is None]
        if not candidates:
            continue
        parent = rng.choice(candidates)
        if any(c["id"] == parent["id"] for c in project["children"]):
            continue
        project["parent"] = _project_ref(parent)
        if project["slug"] is not None:
            by_id[parent["id"]]["children"].append(_project_ref(project))


def _project_ref(project: dict) -> dict:
    return {
        "name": project["name"],
        "id": project["id"],
        "slug": project["slug"],
        "url": f"https://projects.intra.42.fr/{project['slug']}/mine",
    }


def _achievements(spec: Scale, data: Dataset, rng: random.Random) -> list[dict]:
    names = [c["name"] for c in data.campuses]
    kept_names = [c["name"] for c in data.campuses if kept(c)]
    ghosts = list(catalog.GHOST_CAMPUS_NAMES)
    ids = sorted(rng.sample(range(1, max(2 * spec.achievements, 1700)), spec.achievements))
    achievements = []
    for aid in ids:
        tier = rng.choice(TIERS)
        if rng.random() < 0.05:
            campus = rng.sample(names, min(len(names), rng.randint(len(names) // 2, len(names))))
        else:
            campus = rng.sample(names, min(len(names), rng.randint(0, 6)))
        if rng.random() < 0.08:
            campus.append(rng.choice(ghosts))
        if rng.random() < 0.04 and kept_names:
            campus.append(rng.choice(kept_names) + " ")  # a kept campus, with a trailing space
        campus = list(dict.fromkeys(campus))
        code = f"{rng.choice(('PRO', 'SOC', 'PED', 'SCO'))}{rng.randrange(1, 200):03d}"
        achievements.append(
            {
                "id": aid,
                "name": f"{rng.choice(ACHIEVEMENT_NAMES)}"
                + (f" {aid}" if rng.random() < 0.5 else ""),
                "description": f"Achievement {aid}: {rng.choice(WORDS)} {rng.choice(WORDS)}.",
                "tier": tier,
                "kind": rng.choice(KINDS),
                "visible": rng.random() < 0.9,
                "image": f"/uploads/achievement/image/{aid}/{code}.svg"
                if rng.random() < 0.9
                else None,
                "nbr_of_success": rng.choice((1, 3, 5, 10, 21, 42))
                if rng.random() < 0.27
                else None,
                "users_url": f"https://api.intra.42.fr/v2/achievements/{aid}/users",
                "achievements": [],
                "campus": campus,
                "parent": None,
                "title": None,
            }
        )
        if rng.random() < 0.1:
            achievements[-1]["title"] = {
                "id": rng.randrange(1, 200),
                "name": f"{rng.choice(WORDS).title()} %login",
            }
    # Some achievements are steps of a parent: the child carries a light copy of the parent,
    # the parent lists the children's names.
    for child in achievements:
        if rng.random() >= 0.09:
            continue
        parent = rng.choice(achievements)
        if parent is child or parent["parent"] is not None:
            continue
        child["parent"] = {k: parent[k] for k in list(parent)[:9]}
        parent["achievements"].append(child["name"])
    return achievements


def _blocs(spec: Scale, data: Dataset, rng: random.Random) -> tuple[list[dict], list[dict]]:
    """Blocs group coalitions by (campus, cursus); every coalition belongs to one bloc."""
    campus_ids = [c["id"] for c in data.campuses]
    kept_ids = [c["id"] for c in data.campuses if kept(c)]
    other_cursus = [c["id"] for c in data.cursus if c["id"] != MAIN_CURSUS_ID]
    pairs = [(cid, MAIN_CURSUS_ID) for cid in campus_ids if cid not in kept_ids[-1:]]
    for _ in range(spec.other_blocs):
        pairs.append((rng.choice(campus_ids), rng.choice(other_cursus)))
    pairs = list(dict.fromkeys(pairs))

    sizes = [rng.randint(*spec.coalitions_per_bloc) for _ in pairs]
    coalition_ids = sorted([*rng.sample(range(12, 20 + 3 * sum(sizes)), sum(sizes) - 2), 10, 11])
    # The two real "Analysts" (ids 10 and 11) sit in main-cursus blocs of two kept campuses.
    main_kept = [
        i for i, (cid, cur) in enumerate(pairs) if cur == MAIN_CURSUS_ID and cid in kept_ids
    ]
    analysts_blocs = {main_kept[0]: 10, main_kept[1]: 11}

    coalitions, blocs = [], []
    next_ids = iter(c for c in coalition_ids if c not in (10, 11))
    for index, ((campus_id, cursus_id), size) in enumerate(zip(pairs, sizes, strict=True)):
        created, updated = _stamps(rng, 2017)
        members = []
        for slot in range(size):
            coalition_id = (
                analysts_blocs[index] if slot == 0 and index in analysts_blocs else next(next_ids)
            )
            name = "Analysts" if coalition_id in (10, 11) else rng.choice(COALITION_NAMES)
            members.append(_coalition(rng, coalition_id, name))
        coalitions.extend(members)
        blocs.append(
            {
                "id": index + 1 + rng.randrange(0, 3) + 3 * index,
                "campus_id": campus_id,
                "cursus_id": cursus_id,
                "squad_size": rng.choice((None, None, 4, 8)),
                "created_at": created,
                "updated_at": updated,
                "coalition_ids": [c["id"] for c in members],
            }
        )
    coalitions.sort(key=lambda c: c["id"])
    return coalitions, blocs


def _coalition(rng: random.Random, coalition_id: int, name: str) -> dict:
    color = f"#{rng.getrandbits(24):06x}"
    roll = rng.random()
    if roll < 0.03:
        color = color[1:]  # some colours lack the '#'
    elif roll < 0.045:
        color = rng.choice((" ", "\t")) + color  # some carry leading whitespace
    slug = slugify(name)
    return {
        "id": coalition_id,
        "name": name,
        "slug": slug,
        "image_url": f"https://cdn.intra.42.fr/coalition/image/{coalition_id}/{slug}.svg",
        "cover_url": None
        if rng.random() < 0.1
        else f"https://cdn.intra.42.fr/coalition/cover/{coalition_id}/cover.jpg",
        "color": color,
        "score": rng.randrange(0, 200000) if rng.random() < 0.8 else 0,
        "user_id": rng.randrange(10000, 250000),
    }
