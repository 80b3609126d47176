"""The simulated intra's state: collections of records, their queries and their changes.

Records are stored once, in the shape of the API object, except that copies of *other* objects
nested in them are kept as ids (a project stores ``campus_ids``, a projects_user ``user_id``)
and rendered at request time (``render``), the way the real API embeds the current state of
what it nests. Keys starting with ``_`` are internal and never served.

Queries are answered from a cache of the full filtered and sorted result, kept until the data
changes: a client reading a 1.5M-row listing by keyset (``range[id]`` after the last id) costs
one scan for the first page, then a binary search per page.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from intra_simulator import render
from intra_simulator.generate import Dataset, iso
from intra_simulator.population import Population
from intra_simulator.query import (
    BOOL,
    FLOAT,
    INT,
    STR,
    TIME,
    Columns,
    apply_sort,
    bracketed,
    build_predicate,
    parse_sort,
)

PAGING_PARAMS = ("page", "per_page", "page[number]", "page[size]")
# How filter[campus] treats a user without a primary campus_users row (``World.filter_campuses``).
CAMPUS_FILTERS = ("primary", "any")


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
    """One kind of record (an API resource): storage, rendering and query columns."""

    name: str
    rows: dict[int, dict]
    render: Callable[[dict], dict]
    columns: Columns
    dependents: tuple[str, ...] = ()
    cache_json: bool = True  # big nested reference objects: yes; millions of live rows: no
    default_order: tuple[tuple[str, bool], ...] = (("id", False),)
    _cache: dict[int, bytes] = field(default_factory=dict)

    def encode(self, record: dict) -> bytes:
        if not self.cache_json:
            return encode(self.render(record))
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

    Keys holding objects or lists (nested copies) and internal ``_`` keys are not columns;
    keys that are always null count as text, or as timestamps when named ``*_at``/``*_date``.
    """
    types: dict[str, str | None] = {}
    nested: set[str] = set()
    for row in rows:
        for key, value in row.items():
            if key.startswith("_"):
                continue
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
    """What a list route returns: its collection and how to get the records it covers.

    ``records`` is called only when the query cache cannot answer, so a route's own filtering
    (the users of a cursus, say) is paid once per data version, not once per page.
    """

    collection: Collection
    records: Callable[[], list[dict]]
    key: str  # identifies the route for the query cache (path without query string)


class World:
    """All collections of a simulated network, their queries and their mutations."""

    def __init__(
        self,
        data: Dataset,
        clock: Clock,
        seed: int = 42,
        population: Population | None = None,
        campus_filter: str = "primary",
    ) -> None:
        from intra_simulator.routes import build_routes

        if campus_filter not in CAMPUS_FILTERS:
            raise ValueError(f"campus_filter must be one of {CAMPUS_FILTERS}, not {campus_filter}")
        self.clock = clock
        self.seed = seed
        self.campus_filter = campus_filter
        self.lock = threading.RLock()
        self.version = 0  # moves on every change; query caches are keyed by it
        self.advances = 0
        self.silent: dict[str, set[int]] = {}  # ids changed without moving updated_at, or deleted
        self.builder = None  # set by the caller to let time create new people
        self._query_cache: dict[tuple, tuple[int, list[dict], list[int]]] = {}
        self._indexes: dict[str, tuple[int, object]] = {}
        self.collections: dict[str, Collection] = {}
        population = population or Population()
        self._add("cursus", data.cursus, render.plain)
        self._add(
            "campus",
            data.campuses,
            render.plain,
            extra={"language_id": INT},
            getters={"language_id": lambda r: r["language"]["id"]},
            dependents=("projects",),
        )
        self._add(
            "projects",
            data.projects,
            render.project,
            extra={"parent_id": INT},
            getters={"parent_id": lambda r: (r["parent"] or {}).get("id")},
        )
        self._add(
            "achievements",
            data.achievements,
            render.plain,
            extra={"parent_id": INT},
            getters={"parent_id": lambda r: (r["parent"] or {}).get("id")},
        )
        self._add(
            "coalitions",
            data.coalitions,
            render.plain,
            not_sortable={"score"},
            dependents=("blocs",),
        )
        self._add("blocs", data.blocs, render.bloc)
        live = {"cache_json": False}
        self._add(
            "users",
            population.users,
            render.light_user,
            extra={"primary_campus_id": INT},
            getters={"primary_campus_id": self.primary_campus},
            **live,
        )
        self._add("campus_users", population.campus_users, render.campus_user, **live)
        self._add(
            "cursus_users",
            population.cursus_users,
            render.cursus_user,
            custom={"campus_id": lambda r, v: not self.filter_campuses(r["user_id"]).isdisjoint(v)},
            **live,
        )
        self._add(
            "projects_users",
            population.projects_users,
            render.projects_user,
            custom={
                "campus": lambda r, v: not self.filter_campuses(r["user_id"]).isdisjoint(v),
                # quirk 8: the API accepts filter[cursus] on projects_users and ignores it
                "cursus": lambda r, v: True,
            },
            **live,
        )
        self._add(
            "achievements_users", population.achievements_users, render.achievements_user, **live
        )
        self._add(
            "coalitions_users",
            population.coalitions_users,
            render.coalitions_user,
            default_order=(("created_at", True),),
            **live,
        )
        self.routes = build_routes(self)

    def _add(
        self,
        name,
        rows,
        renderer,
        extra=None,
        getters=None,
        custom=None,
        not_sortable=(),
        dependents=(),
        cache_json=True,
        default_order=(("id", False),),
    ):
        rows = list(rows)
        columns = Columns(
            types=infer_columns(rows, extra),
            getters=getters or {},
            custom_filters=custom or {},
            not_sortable=frozenset(not_sortable),
        )
        self.collections[name] = Collection(
            name,
            {r["id"]: r for r in rows},
            partial(renderer, self),
            columns,
            tuple(dependents),
            cache_json,
            tuple(default_order),
        )

    # -- indexes (rebuilt lazily after changes) -------------------------------------------

    def _index(self, name: str, build: Callable[[], object]):
        cached = self._indexes.get(name)
        if cached is None or cached[0] != self.version:
            cached = (self.version, build())
            self._indexes[name] = cached
        return cached[1]

    def primary_campus(self, user_id: int) -> int | None:
        """The campus of the user's primary campus_users row (the latest, if several); None for
        a user none of whose rows is primary (a few students: ``no_primary_share``)."""

        def build() -> dict[int, int]:
            primary: dict[int, tuple[str, int]] = {}
            for row in self.collections["campus_users"].rows.values():
                if (
                    row["is_primary"]
                    and row["updated_at"] >= primary.get(row["user_id"], ("", 0))[0]
                ):
                    primary[row["user_id"]] = (row["updated_at"], row["campus_id"])
            return {uid: campus for uid, (_, campus) in primary.items()}

        return self._index("primary_campus", build).get(user_id)

    def filter_campuses(self, user_id: int) -> set[str]:
        """The campus ids (as the query's strings) that ``filter[campus]`` finds a user's
        records by: their primary campus. Whether the real API finds a user who has no primary
        campus_users row is unknown, so both are simulated: ``campus_filter="primary"`` (the
        default, the pessimistic case) finds them by no campus, ``"any"`` by every campus they
        have a row at."""
        primary = self.primary_campus(user_id)
        if primary is not None:
            return {str(primary)}
        if self.campus_filter == "primary":
            return set()

        def build() -> dict[int, set[str]]:
            campuses: dict[int, set[str]] = {}
            for row in self.collections["campus_users"].rows.values():
                campuses.setdefault(row["user_id"], set()).add(str(row["campus_id"]))
            return campuses

        return self._index("user_campuses", build).get(user_id, set())

    def owned_by(self, user_id: int) -> dict[str, list[dict]]:
        """The user's own rows in each live collection."""

        def build() -> dict[str, dict[int, list[dict]]]:
            by_user: dict[str, dict[int, list[dict]]] = {}
            for name in (
                "campus_users",
                "cursus_users",
                "projects_users",
                "achievements_users",
                "coalitions_users",
            ):
                groups: dict[int, list[dict]] = {}
                for row in self.collections[name].ordered():
                    groups.setdefault(row["user_id"], []).append(row)
                by_user[name] = groups
            return by_user

        index = self._index("owned_by", build)
        return {name: groups.get(user_id, []) for name, groups in index.items()}

    # -- queries --------------------------------------------------------------------------

    def listing(
        self,
        name: str,
        keep: Callable[[dict], bool] | None = None,
        key: str = "",
        keep_factory: Callable[[], Callable[[dict], bool]] | None = None,
    ) -> Listing:
        """A route's records: a collection, optionally narrowed by ``keep`` (or by the predicate
        ``keep_factory`` builds, for predicates that need an index built first)."""
        collection = self.collections[name]

        def records() -> list[dict]:
            rows = collection.ordered()
            predicate = keep or (keep_factory() if keep_factory else None)
            return [r for r in rows if predicate(r)] if predicate else rows

        return Listing(collection, records, key or name)

    def select(self, listing: Listing, params: dict[str, str]) -> list[dict]:
        """The listing's records matching ``filter``/``range``, in ``sort`` order.

        The full result (everything but ``range[id]``) is cached per route and parameters
        until the data changes; ``range[id]`` on an id-sorted result is a binary search.
        """
        collection = listing.collection
        id_range = bracketed(params, "range").get("id")
        rest = {k: v for k, v in params.items() if k not in PAGING_PARAMS and k != "range[id]"}
        keys = parse_sort(rest, collection.columns) or list(collection.default_order)
        cache_key = (listing.key, tuple(sorted(rest.items())))
        cached = self._query_cache.get(cache_key)
        if cached is None or cached[0] != self.version:
            predicate = build_predicate(rest, collection.columns)
            matched = apply_sort(
                [r for r in listing.records() if predicate(r)], keys, collection.columns
            )
            cached = (self.version, matched, [r["id"] for r in matched])
            if len(self._query_cache) > 64:
                self._query_cache.clear()
            self._query_cache[cache_key] = cached
        _, matched, ids = cached
        if id_range is None:
            return matched
        if keys == [("id", False)]:
            low, high = (
                (int(v) for v in id_range.split(",")) if id_range.count(",") == 1 else (None, None)
            )
            if low is not None:
                return matched[bisect.bisect_left(ids, low) : bisect.bisect_right(ids, high)]
        keep = build_predicate({"range[id]": id_range}, collection.columns)
        return [r for r in matched if keep(r)]

    def resolve(self, path: str) -> Listing | dict:
        """Find the route for a path; raise ``NotFound`` for unknown routes or records."""
        for pattern, handler in self.routes:
            match = pattern.fullmatch(path.rstrip("/"))
            if match:
                return handler(*match.groups())
        raise NotFound(path)

    def find(self, name: str, key: str, by_slug: bool = False, by_login: bool = False) -> dict:
        rows = self.collections[name].rows
        if key.isdigit() and int(key) in rows:
            return rows[int(key)]
        for row in rows.values():
            if (by_slug and row.get("slug") == key) or (by_login and row.get("login") == key):
                return row
        raise NotFound(f"{name}/{key}")

    def show(self, name: str, key: str, by_slug: bool = False) -> dict:
        return self.collections[name].render(self.find(name, key, by_slug))

    # -- changes --------------------------------------------------------------------------

    def changed(self, name: str, record_id: int | None = None) -> None:
        """Drop cached JSON of a record (or a whole collection) and of what embeds it."""
        self.version += 1
        collection = self.collections[name]
        collection.forget(record_id)
        for dependent in collection.dependents:
            self.collections[dependent].forget()

    def update(self, name: str, record_id: int, values: dict, touch: bool = True) -> dict:
        """Change a record; ``touch`` moves its ``updated_at``, otherwise the change is silent."""
        with self.lock:
            record = self.collections[name].rows[record_id]
            record.update(values)
            if touch and "updated_at" in record:
                record["updated_at"] = iso(self.clock.now())
            elif "updated_at" in record:
                self.silent.setdefault(name, set()).add(record_id)
            self.changed(name, record_id)
            return record

    def insert(self, name: str, record: dict) -> None:
        with self.lock:
            self.collections[name].rows[record["id"]] = record
            self.changed(name, record["id"])

    def delete(self, name: str, record_id: int) -> None:
        """Remove a record; the API has no deletion feed, so every deletion is silent."""
        with self.lock:
            if self.collections[name].rows.pop(record_id, None) is not None:
                self.silent.setdefault(name, set()).add(record_id)
            self.changed(name, record_id)

    def advance(self, seconds: float, activity: bool = True) -> dict:
        """Move the clock forward; with ``activity``, people and staff change things."""
        from intra_simulator.activity import simulate

        with self.lock:
            start = self.clock.now()
            self.clock.advance(seconds)
            self.advances += 1
            if not activity:
                return {"changed": {}, "silent": {}}
            return simulate(self, start, self.clock.now())

    def admit(self, user_id: int | None = None) -> dict:
        """Admit a pisciner to the main cursus now (the first one, if no id is given); returns
        their new cursus_user as served (see ``activity.Activity.admit``)."""
        from intra_simulator.activity import Activity

        with self.lock:
            now = self.clock.now()
            activity = Activity(self, now, now)
            if user_id is None:
                if not activity.pisciners:
                    raise ValueError("no pisciner of a kept campus left to admit")
                user_id = activity.pisciners[0]
            elif user_id not in activity.pisciners:
                raise ValueError(f"user {user_id} is not a pisciner of a kept campus")
            return self.collections["cursus_users"].render(activity.admit(user_id))

    def dump(self, name: str) -> list[dict]:
        """Every record of a collection, rendered as the API would (for test oracles)."""
        collection = self.collections[name]
        return [collection.render(r) for r in collection.ordered()]


__all__ = ["STR", "Clock", "Collection", "Listing", "NotFound", "World"]
