"""The simulated intra's records: collections, their indexes, their queries and their changes.

Records are stored once, in the shape of the API object, except that copies of *other* objects
nested in them are kept as ids (a project stores ``campus_ids``, a projects_user ``user_id``)
and rendered at request time by the renderer each collection is given, the way the real API
embeds the current state of what it nests. Keys starting with ``_`` are internal and never
served.

Every change the simulated activity makes is also appended to ``Store.change_log`` (see
``Store.log_change``), so that a test can compare what a client derived against what happened.

Queries are answered from a cache of the full filtered and sorted result, kept until the data
changes: a client reading a 1.5M-row listing by keyset (``range[id]`` after the last id) costs
one scan for the first page, then a binary search per page.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from intra_simulator.generate import iso
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
    narrow_by_time_range,
    parse_sort,
)

PAGING_PARAMS = ("page", "per_page", "page[number]", "page[size]")
# How filter[campus] treats a user without a primary campus_users row (``Store.filter_campuses``).
CAMPUS_FILTERS = ("primary", "any")
# Whether /v2/locations takes several campus ids in filter[campus_id] (``Store.__init__``).
CAMPUS_LISTS = ("accept", "refuse")
# The collections that hold a user's own rows (``Store.owned_by``).
USER_COLLECTIONS = (
    "campus_users",
    "cursus_users",
    "projects_users",
    "achievements_users",
    "coalitions_users",
)


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
    # what the route refuses in the query parameters (raises QueryError or BadGateway)
    check: Callable[[dict[str, str]], None] | None = None


class Store:
    """Every collection of a simulated network, their queries and their changes.

    ``now`` stamps the records a change touches; ``campus_filter`` says how ``filter[campus]``
    treats a user without a primary campus (``filter_campuses``).
    """

    def __init__(self, now: Callable[[], datetime], campus_filter: str = "primary") -> None:
        if campus_filter not in CAMPUS_FILTERS:
            raise ValueError(f"campus_filter must be one of {CAMPUS_FILTERS}, not {campus_filter}")
        self.now = now
        self.campus_filter = campus_filter
        # Whether anonymizing a user renames them in the teams they were in is unknown for
        # the real API, so both are simulated: "current" (teams show every member's login
        # as it is now) or "frozen" (teams keep the login a member had before they were
        # anonymized: name, member list). ``former_logins``: user id -> that login.
        self.team_logins = "current"
        self.former_logins: dict[int, str] = {}
        # Whether /v2/locations accepts a filter[campus_id] of several campuses is unknown for
        # the real API, so both are simulated: "accept" (the default) or "refuse" (400).
        self.locations_campus_list = "accept"
        self.lock = threading.RLock()
        self.version = 0  # moves on every change; query caches are keyed by it
        self.silent: dict[str, set[int]] = {}  # ids changed without moving updated_at, or deleted
        self.change_log: list[dict] = []  # append-only, one entry per change (``log_change``)
        self.collections: dict[str, Collection] = {}
        self._query_cache: dict[tuple, tuple[int, list[dict], list[int]]] = {}
        self._indexes: dict[str, tuple[int, object]] = {}
        self._owned: dict[str, dict[int, list[dict]]] | None = None  # ``owned_by``'s index

    def add(
        self,
        name: str,
        rows: Iterable[dict],
        renderer: Callable[[Store, dict], dict],
        extra: dict[str, str] | None = None,
        getters: dict[str, Callable[[dict], object]] | None = None,
        custom: dict[str, Callable[[dict, list[str]], bool]] | None = None,
        not_sortable: Iterable[str] = (),
        null_filters: dict[str, str] | None = None,
        dependents: Iterable[str] = (),
        cache_json: bool = True,
        default_order: Iterable[tuple[str, bool]] = (("id", False),),
    ) -> None:
        """A collection: its rows, how a record renders (given this store, to look up what it
        nests), and its query columns beyond the inferred ones."""
        rows = list(rows)
        columns = Columns(
            types=infer_columns(rows, extra),
            getters=getters or {},
            custom_filters=custom or {},
            not_sortable=frozenset(not_sortable),
            null_filters=null_filters or {},
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
        """The user's own rows in each live collection, by id (copies of the lists).

        Kept up to date by ``insert`` and ``delete`` once built, not rebuilt after each
        change: at network scale a rebuild takes seconds, and a world that changes every few
        seconds (``World.happen``) would rebuild it for every user page served."""
        if self._owned is None:
            self._owned = {}
            for name in USER_COLLECTIONS:
                groups: dict[int, list[dict]] = {}
                for row in self.collections[name].ordered():
                    groups.setdefault(row["user_id"], []).append(row)
                self._owned[name] = groups
        return {name: list(groups.get(user_id, [])) for name, groups in self._owned.items()}

    def _own(self, name: str, record: dict | None, owned: bool) -> None:
        """Add a record to (or remove it from) its user's rows in the ``owned_by`` index."""
        if record is None or self._owned is None or name not in self._owned:
            return
        rows = self._owned[name].setdefault(record["user_id"], [])
        if owned:
            bisect.insort(rows, record, key=lambda row: row["id"])
        else:
            rows[:] = [row for row in rows if row is not record]

    # -- queries --------------------------------------------------------------------------

    def listing(
        self,
        name: str,
        keep: Callable[[dict], bool] | None = None,
        key: str = "",
        keep_factory: Callable[[], Callable[[dict], bool]] | None = None,
        check: Callable[[dict[str, str]], None] | None = None,
    ) -> Listing:
        """A route's records: a collection, optionally narrowed by ``keep`` (or by the predicate
        ``keep_factory`` builds, for predicates that need an index built first); ``check``
        refuses the query parameters the route does not take."""
        collection = self.collections[name]

        def records() -> list[dict]:
            rows = collection.ordered()
            predicate = keep or (keep_factory() if keep_factory else None)
            return [r for r in rows if predicate(r)] if predicate else rows

        return Listing(collection, records, key or name, check)

    def select(self, listing: Listing, params: dict[str, str]) -> list[dict]:
        """The listing's records matching ``filter``/``range``, in ``sort`` order.

        The full result (everything but ``range[id]``) is cached per route and parameters
        until the data changes; ``range[id]`` on an id-sorted result is a binary search.
        """
        collection = listing.collection
        if listing.check:
            listing.check(params)
        id_range = bracketed(params, "range").get("id")
        rest = {k: v for k, v in params.items() if k not in PAGING_PARAMS and k != "range[id]"}
        keys = parse_sort(rest, collection.columns) or list(collection.default_order)
        cache_key = (listing.key, tuple(sorted(rest.items())))
        cached = self._query_cache.get(cache_key)
        if cached is None or cached[0] != self.version:
            predicate = build_predicate(rest, collection.columns, self.now())
            rows = narrow_by_time_range(listing.records(), rest, collection.columns)
            matched = apply_sort([r for r in rows if predicate(r)], keys, collection.columns)
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

    def dump(self, name: str) -> list[dict]:
        """Every record of a collection, rendered as the API would (for test oracles)."""
        collection = self.collections[name]
        return [collection.render(r) for r in collection.ordered()]

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
                record["updated_at"] = iso(self.now())
            elif "updated_at" in record:
                self.silent.setdefault(name, set()).add(record_id)
            self.changed(name, record_id)
            return record

    def insert(self, name: str, record: dict) -> None:
        with self.lock:
            rows = self.collections[name].rows
            self._own(name, rows.get(record["id"]), False)
            rows[record["id"]] = record
            self._own(name, record, True)
            self.changed(name, record["id"])

    def log_change(
        self,
        kind: str,
        user_id: int | None,
        subject: str,
        subject_id: int,
        old: object = None,
        new: object = None,
        at: str = "",
        silent: bool = False,
    ) -> dict:
        """Append one change to ``change_log``, numbered from 1 (``seq``).

        ``subject`` names the changed record's kind in the singular (``"projects_user"``),
        ``old``/``new`` are values as the API serves them, ``at`` is the simulated moment of the
        change and ``silent`` says that the record's ``updated_at`` did not move.
        ``updated_at`` is the record's own when the change is logged (None for a record
        without one, or gone): a client that holds this version or a later one has seen the
        change."""
        with self.lock:
            collection = self.collections.get(f"{subject}s")
            record = collection.rows.get(subject_id) if collection else None
            entry = {
                "seq": len(self.change_log) + 1,
                "kind": kind,
                "user_id": user_id,
                "subject": subject,
                "subject_id": subject_id,
                "old": old,
                "new": new,
                "at": at,
                "silent": silent,
                "updated_at": (record or {}).get("updated_at"),
            }
            self.change_log.append(entry)
            return entry

    def changes(self, after: int = 0) -> list[dict]:
        """The logged changes whose ``seq`` is above ``after``, oldest first."""
        with self.lock:
            return [dict(entry) for entry in self.change_log[max(0, after) :]]

    def delete(self, name: str, record_id: int) -> None:
        """Remove a record; the API has no deletion feed, so every deletion is silent."""
        with self.lock:
            record = self.collections[name].rows.pop(record_id, None)
            if record is not None:
                self.silent.setdefault(name, set()).add(record_id)
                self._own(name, record, False)
            self.changed(name, record_id)
