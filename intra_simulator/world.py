"""The simulated network as a whole: its store, its routes, its clock and time passing.

``World`` puts the reference data, the people and their sessions at campus (``locations``) in
a ``store`` (which collections exist, how each renders and what it can be filtered on), answers
a path with its route, and moves the clock forward, letting ``activity`` change the records
meanwhile: first what it always did, then retries and sessions, each from its own random
stream. The people's builder comes with them, so that time can create new people the way the
first ones were made.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from intra_simulator import render
from intra_simulator.activity import Activity
from intra_simulator.generate import Dataset
from intra_simulator.locations import Locations
from intra_simulator.population import Population, PopulationBuilder
from intra_simulator.query import BOOL, INT, STR, TIME
from intra_simulator.routes import Answer, build_routes
from intra_simulator.store import Listing, NotFound, Store


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


def fill(store: Store, data: Dataset, population: Population, locations: list[dict]) -> None:
    """Add the network's collections to the store: reference data, then the people's records
    and their sessions."""
    store.add("cursus", data.cursus, render.plain)
    store.add(
        "campus",
        data.campuses,
        render.plain,
        extra={"language_id": INT},
        getters={"language_id": lambda r: r["language"]["id"]},
        dependents=("projects",),
    )
    store.add(
        "projects",
        data.projects,
        render.project,
        extra={"parent_id": INT},
        getters={"parent_id": lambda r: (r["parent"] or {}).get("id")},
    )
    store.add(
        "achievements",
        data.achievements,
        render.plain,
        extra={"parent_id": INT},
        getters={"parent_id": lambda r: (r["parent"] or {}).get("id")},
    )
    store.add(
        "coalitions",
        data.coalitions,
        render.plain,
        not_sortable={"score"},
        dependents=("blocs",),
    )
    store.add("blocs", data.blocs, render.bloc)

    def at_campus(record: dict, wanted: list[str]) -> bool:
        return not store.filter_campuses(record["user_id"]).isdisjoint(wanted)

    live = {"cache_json": False}
    store.add(
        "users",
        population.users,
        render.light_user,
        extra={"primary_campus_id": INT},
        getters={"primary_campus_id": lambda user: store.primary_campus(user["id"])},
        **live,
    )
    store.add("campus_users", population.campus_users, render.campus_user, **live)
    store.add(
        "cursus_users",
        population.cursus_users,
        render.cursus_user,
        custom={"campus_id": at_campus},
        **live,
    )
    store.add(
        "projects_users",
        population.projects_users,
        render.projects_user,
        # the API accepts filter[cursus] on projects_users and ignores it
        custom={"campus": at_campus, "cursus": lambda r, v: True},
        **live,
    )
    store.add("achievements_users", population.achievements_users, render.achievements_user, **live)
    store.add(
        "coalitions_users",
        population.coalitions_users,
        render.coalitions_user,
        default_order=(("created_at", True),),
        **live,
    )
    store.add(
        "locations",
        locations,
        render.location,
        extra={
            "id": INT,
            "begin_at": TIME,
            "end_at": TIME,
            "primary": BOOL,
            "host": STR,
            "campus_id": INT,
            "user_id": INT,
        },
        null_filters={"active": "end_at"},  # filter[active]=true: end_at is null
        default_order=(("begin_at", True),),  # newest first, as the real listings come
        **live,
    )


class World:
    """A simulated network: its records (``store``), its routes, its clock, and what happens
    as time passes. ``builder`` holds the people (``builder.population``) and makes new ones;
    without it the world has reference data only."""

    def __init__(
        self,
        data: Dataset,
        clock: Clock,
        seed: int = 42,
        builder: PopulationBuilder | None = None,
        campus_filter: str = "primary",
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.builder = builder
        self.advances = 0
        self.happened_until = clock.now()  # activity has been drawn up to here
        self.store = Store(clock.now, campus_filter)
        # the sessions of the people, for the days before the clock's start
        self.locations = Locations(data, builder.population, clock.now(), seed) if builder else None
        fill(
            self.store,
            data,
            builder.population if builder else Population(),
            self.locations.rows if self.locations else [],
        )
        self.routes = build_routes(self.store)

    def resolve(self, path: str) -> Listing | dict | Answer:
        """Find the route for a path; raise ``NotFound`` for unknown routes or records."""
        for pattern, handler in self.routes:
            match = pattern.fullmatch(path.rstrip("/"))
            if match:
                return handler(*match.groups())
        raise NotFound(path)

    def _activity(self, start: datetime, end: datetime, intensity: float = 1.0) -> Activity:
        """What happens between two moments; its random stream is the advance's own."""
        rng = random.Random(f"{self.seed}:advance:{self.advances}")
        return Activity(self.store, self.builder, rng, start, end, intensity)

    def advance(self, seconds: float, activity: bool = True) -> dict:
        """Move the clock forward; with ``activity``, people and staff change things (each
        change is appended to ``store.change_log``): what ``Activity.run`` does, then retries,
        then sessions, each from the advance's own stream of its kind, so that adding one left
        the others as they were."""
        with self.store.lock:
            start = self.clock.now()
            self.clock.advance(seconds)
            self.advances += 1
            self.happened_until = self.clock.now()
            if not activity:
                return {"changed": {}, "silent": {}}
            return self._happen(start, self.clock.now(), 1.0).report()

    def happen(self, intensity: float = 1.0) -> dict:
        """What happened since the last advance or happen, up to now, without moving the
        clock: the real time that passed gets its activity, ``intensity`` times the usual
        rates of the students' changes (sessions at campus keep their own rates). Called
        every few seconds, it makes a network that changes while a client watches it."""
        with self.store.lock:
            start, self.happened_until = self.happened_until, self.clock.now()
            self.advances += 1
            interval = self._happen(start, self.happened_until, intensity)
            return {**interval.report(), "students": len(interval.students)}

    def _happen(self, start: datetime, end: datetime, intensity: float) -> Activity:
        interval = self._activity(start, end, intensity)
        interval.run()
        stream = f"{self.seed}:advance:{self.advances}"
        interval.retry(random.Random(f"{stream}:attempts"))
        if self.locations:
            self.locations.advance(interval, random.Random(f"{stream}:locations"))
        return interval

    def admit(self, user_id: int | None = None) -> dict:
        """Admit a pisciner to the main cursus now (the first one, if no id is given); returns
        their new cursus_user as served (see ``activity.Activity.admit``)."""
        with self.store.lock:
            now = self.clock.now()
            activity = self._activity(now, now)
            if user_id is None:
                if not activity.pisciners:
                    raise ValueError("no pisciner of a kept campus left to admit")
                user_id = activity.pisciners[0]
            elif user_id not in activity.pisciners:
                raise ValueError(f"user {user_id} is not a pisciner of a kept campus")
            return self.store.collections["cursus_users"].render(activity.admit(user_id))
