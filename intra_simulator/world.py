"""The simulated intra's state: collections of records, how they render, and the routes.

Records are stored once, in the shape of the API object, except that copies of *other* objects
nested in them are kept as ids (a project stores ``campus_ids``, a bloc ``coalition_ids``) and
are rendered at request time, the way the real API embeds the current state of the campus in
every project. Each record's JSON is cached as bytes until it (or something it embeds) changes,
so a page of 100 multi-kilobyte projects costs a join, not 100 serialisations.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from intra_simulator import catalog
from intra_simulator.generate import Dataset, iso
from intra_simulator.query import BOOL, FLOAT, INT, STR, TIME, Columns


class Clock:
    """Simulated time: the real clock plus an offset that ``advance`` moves forward.

    Data timestamps, token lifetimes, rate-limit windows and the ``Date`` header all read it,
    so advancing it makes time pass for everything at once.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._wall0 = (start or datetime.now(UTC)).timestamp()
        self._mono0 = time.monotonic()
        self._offset = 0.0

    def time(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> None:
        self._offset += seconds


def encode(obj: object) -> bytes:
    """Compact UTF-8 JSON, as Rails renders it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Collection:
    """One kind of record (an API resource) and how to render and query it."""

    name: str
    rows: dict[int, dict]
    render: Callable[[dict], dict]
    columns: Columns
    dependents: tuple[str, ...] = ()
    _cache: dict[int, bytes] = field(default_factory=dict)

    def encode(self, record: dict) -> bytes:
        cached = self._cache.get(record["id"])
        if cached is None:
            cached = self._cache[record["id"]] = encode(self.render(record))
        return cached

    def ordered(self) -> list[dict]:
        return [self.rows[key] for key in sorted(self.rows)]

    def forget(self, record_id: int | None = None) -> None:
        if record_id is None:
            self._cache.clear()
        else:
            self._cache.pop(record_id, None)


def infer_columns(rows: Iterable[dict], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The filterable columns of a collection: its scalar keys, typed from their values.

    Keys holding objects or lists (nested copies) are not columns; keys that are always null
    count as text, or as timestamps when named ``*_at``/``*_date``.
    """
    types: dict[str, str | None] = {}
    nested: set[str] = set()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, (dict, list)):
                nested.add(key)
            elif isinstance(value, bool):
                types[key] = BOOL
            elif isinstance(value, int):
                types[key] = types.get(key) or INT
            elif isinstance(value, float):
                types[key] = FLOAT
            elif value is not None:
                types[key] = TIME if key.endswith(("_at", "_date")) else STR
            else:
                types.setdefault(key, None)
    columns = {
        key: kind or (TIME if key.endswith(("_at", "_date")) else STR)
        for key, kind in types.items()
        if key not in nested
    }
    columns.update(extra or {})
    return columns


class NotFound(Exception):
    """The route or the record does not exist: 404 with ``{}``."""


@dataclass
class Listing:
    """What a list route returns: the records to query and the collection they belong to."""

    collection: Collection
    records: list[dict]


class World:
    """All collections of a simulated network, the routes over them, and their mutations."""

    def __init__(self, data: Dataset, clock: Clock, seed: int = 42) -> None:
        self.clock = clock
        self.seed = seed
        self.lock = threading.RLock()
        self.advances = 0
        self.collections: dict[str, Collection] = {}
        self._add("cursus", data.cursus, self._render_plain)
        self._add(
            "campus",
            data.campuses,
            self._render_plain,
            extra={"language_id": INT},
            getters={"language_id": lambda r: r["language"]["id"]},
            dependents=("projects",),
        )
        self._add(
            "projects",
            data.projects,
            self._render_project,
            extra={"parent_id": INT},
            getters={"parent_id": lambda r: (r["parent"] or {}).get("id")},
        )
        self._add(
            "achievements",
            data.achievements,
            self._render_plain,
            extra={"parent_id": INT},
            getters={"parent_id": lambda r: (r["parent"] or {}).get("id")},
        )
        self._add(
            "coalitions",
            data.coalitions,
            self._render_plain,
            not_sortable={"score"},
            dependents=("blocs",),
        )
        self._add("blocs", data.blocs, self._render_bloc)
        self.routes: list[tuple[re.Pattern, Callable[..., Listing | dict]]] = [
            (re.compile(r"/v2/cursus"), lambda: self.listing("cursus")),
            (re.compile(r"/v2/cursus/([^/]+)"), lambda key: self.show("cursus", key, by_slug=True)),
            (re.compile(r"/v2/cursus/([^/]+)/projects"), self._cursus_projects),
            (re.compile(r"/v2/campus"), lambda: self.listing("campus")),
            (re.compile(r"/v2/campus/([^/]+)"), lambda key: self.show("campus", key)),
            (re.compile(r"/v2/campus/([^/]+)/achievements"), self._campus_achievements),
            (re.compile(r"/v2/projects"), lambda: self.listing("projects")),
            (
                re.compile(r"/v2/projects/([^/]+)"),
                lambda key: self.show("projects", key, by_slug=True),
            ),
            (re.compile(r"/v2/achievements"), lambda: self.listing("achievements")),
            (re.compile(r"/v2/achievements/([^/]+)"), lambda key: self.show("achievements", key)),
            (re.compile(r"/v2/coalitions"), lambda: self.listing("coalitions")),
            (re.compile(r"/v2/coalitions/([^/]+)"), lambda key: self.show("coalitions", key)),
            (re.compile(r"/v2/blocs"), lambda: self.listing("blocs")),
            (re.compile(r"/v2/blocs/([^/]+)"), lambda key: self.show("blocs", key)),
            (re.compile(r"/v2/blocs/([^/]+)/coalitions"), self._bloc_coalitions),
        ]

    # -- building -------------------------------------------------------------------------

    def _add(self, name, rows, render, extra=None, getters=None, not_sortable=(), dependents=()):
        rows = list(rows)
        columns = Columns(
            types=infer_columns(rows, extra),
            getters=getters or {},
            custom_filters={},
            not_sortable=frozenset(not_sortable),
        )
        self.collections[name] = Collection(
            name, {r["id"]: r for r in rows}, render, columns, tuple(dependents)
        )

    # -- rendering ------------------------------------------------------------------------

    @staticmethod
    def _render_plain(record: dict) -> dict:
        return record

    def _embedded_campus(self, campus: dict) -> dict:
        """Campuses nested in projects have no ``endpoint`` and a timestamped ``language``."""
        body = {k: v for k, v in campus.items() if k != "endpoint"}
        lang = campus["language"]
        created, updated = catalog.LANGUAGES[lang["id"]][2:]
        body["language"] = {**lang, "created_at": created, "updated_at": updated}
        return body

    def _render_project(self, project: dict) -> dict:
        cursus = self.collections["cursus"].rows
        campus = self.collections["campus"].rows
        body = {}
        for key, value in project.items():
            if key == "cursus_ids":
                body["cursus"] = [cursus[c] for c in value if c in cursus]
            elif key == "campus_ids":
                body["campus"] = [self._embedded_campus(campus[c]) for c in value if c in campus]
            else:
                body[key] = value
        return body

    def _render_bloc(self, bloc: dict) -> dict:
        coalitions = self.collections["coalitions"].rows
        body = {k: v for k, v in bloc.items() if k != "coalition_ids"}
        body["coalitions"] = [coalitions[c] for c in bloc["coalition_ids"] if c in coalitions]
        return body

    # -- routes ---------------------------------------------------------------------------

    def resolve(self, path: str) -> Listing | dict:
        """Find the route for a path; raise ``NotFound`` for unknown routes or records."""
        for pattern, handler in self.routes:
            match = pattern.fullmatch(path.rstrip("/"))
            if match:
                return handler(*match.groups())
        raise NotFound(path)

    def listing(self, name: str, keep: Callable[[dict], bool] | None = None) -> Listing:
        collection = self.collections[name]
        rows = collection.ordered()
        return Listing(collection, [r for r in rows if keep(r)] if keep else rows)

    def find(self, name: str, key: str, by_slug: bool = False) -> dict:
        rows = self.collections[name].rows
        if key.isdigit() and int(key) in rows:
            return rows[int(key)]
        if by_slug:
            for row in rows.values():
                if row.get("slug") == key:
                    return row
        raise NotFound(f"{name}/{key}")

    def show(self, name: str, key: str, by_slug: bool = False) -> dict:
        return self.collections[name].render(self.find(name, key, by_slug))

    def _cursus_projects(self, key: str) -> Listing:
        cursus_id = self.find("cursus", key, by_slug=True)["id"]
        return self.listing("projects", lambda p: cursus_id in p["cursus_ids"])

    def _campus_achievements(self, key: str) -> Listing:
        name = self.find("campus", key)["name"]
        return self.listing("achievements", lambda a: name in a["campus"])

    def _bloc_coalitions(self, key: str) -> Listing:
        members = set(self.find("blocs", key)["coalition_ids"])
        return self.listing("coalitions", lambda c: c["id"] in members)

    # -- mutations ------------------------------------------------------------------------

    def changed(self, name: str, record_id: int | None = None) -> None:
        """Drop cached JSON of a record (or a whole collection) and of what embeds it."""
        collection = self.collections[name]
        collection.forget(record_id)
        for dependent in collection.dependents:
            self.collections[dependent].forget()

    def update(self, name: str, record_id: int, values: dict, touch: bool = True) -> dict:
        """Change a record's fields; ``touch`` moves its ``updated_at`` (when it has one)."""
        with self.lock:
            record = self.collections[name].rows[record_id]
            record.update(values)
            if touch and "updated_at" in record:
                record["updated_at"] = iso(self.clock.now())
            self.changed(name, record_id)
            return record

    def delete(self, name: str, record_id: int) -> None:
        with self.lock:
            self.collections[name].rows.pop(record_id, None)
            self.changed(name, record_id)

    def advance(self, seconds: float, activity: bool = True) -> dict:
        """Move the clock forward; with ``activity``, change a few records as staff would."""
        with self.lock:
            start = self.clock.now()
            self.clock.advance(seconds)
            self.advances += 1
            if not activity:
                return {"changed": {}}
            rng = random.Random(f"{self.seed}:advance:{self.advances}")
            changed = {"projects": self._touch_some(rng, "projects", seconds, start)}
            return {"changed": changed}

    def _touch_some(
        self, rng: random.Random, name: str, seconds: float, start: datetime
    ) -> list[int]:
        """Edit about one record per simulated hour, stamped inside the elapsed interval."""
        rows = self.collections[name].rows
        count = min(len(rows), max(0, round(seconds / 3600 * rng.uniform(0.5, 1.5))))
        touched = sorted(rng.sample(sorted(rows), count))
        for record_id in touched:
            record = rows[record_id]
            if record.get("difficulty") is not None:
                record["difficulty"] += rng.choice((-25, 25, 50))
            when = start + timedelta(seconds=rng.uniform(0, seconds))
            record["updated_at"] = iso(min(when, self.clock.now()))
            self.changed(name, record_id)
        return touched

    def dump(self, name: str) -> list[dict]:
        """Every record of a collection, rendered as the API would (for test oracles)."""
        collection = self.collections[name]
        return [collection.render(r) for r in collection.ordered()]


__all__ = ["STR", "Clock", "Collection", "Listing", "NotFound", "World"]
