"""Locations: people's sessions at campus seats (``/v2/locations``), the history a world starts
with, and the sessions that begin and end while time passes.

A session is one login at one host (a seat) of a campus. Stored form: ``id, begin_at, end_at,
primary, host, campus_id, user_id``; an open session (``end_at`` null) also carries
``_planned_end``, when it will close, or null for a forgotten logout, open until staff close
every session of its campus (internal, never served).

History: the ``HISTORY_DAYS`` days before the clock starts. On each local day a student is on
campus with chance ``PRESENCE`` (pisciners and staff, whom a client drops, less often), for one
to three sessions beginning mostly between 9 h and 23 h local time, lasting a median 1.85 h
(p90 5.5 h, at most 12 h); evening ones cross local midnight and the last ones are still open.
The real data's quirks are added at the rates of ``CASES`` (and ``FORGOTTEN_SHARE``,
``OUT_OF_ORDER_SHARE``), each at least ``MINIMUM`` times, so that even a tiny world has them:
second logins (``primary: false``) inside a session, sessions not primary on their own,
sessions overlapping another of the same user, sessions inside another, duplicate rows under
another id, forgotten logouts, ids out of time order. A user's sessions are all at one campus:
never two campuses at once (a client merges a user's sessions per campus).

Time passing (``Locations.advance``): sessions begin at the same rate, by local hour, and close
when their planned end passes; now and then staff close every open session of a campus at one
instant (``end_all``), the intra deletes a bogus session (silently) or records one twice. Each
change is logged: ``location_begun``, ``location_ended``, ``location_deleted``.

Everything here draws from its own streams (``{seed}:locations``, ``{seed}:location_ids``, and
``{seed}:advance:{n}:locations`` per advance), and runs after the rest of an advance, so that a
seed's other records, ids and changes are what they were before locations existed.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate, islice, product
from math import log
from zoneinfo import ZoneInfo

from intra_simulator.activity import Activity
from intra_simulator.generate import MAIN_CURSUS_ID, Dataset, iso
from intra_simulator.logtime import parse
from intra_simulator.population import PISCINE_CURSUS_ID, Ids, Population

HISTORY_DAYS = 35
FIRST_ID = 30_000_000
# Chance per local day that a person comes to campus, by role.
PRESENCE = {"student": 0.25, "pisciner": 0.03, "staff": 0.1}
SESSIONS_CUMULATIVE = (75, 95, 100)  # one to three sessions a day: 75%, 20%, 5%
MEAN_SESSIONS = 1.3  # a day's, from the shares above
# Relative chance that a session begins in each local hour (0 h to 23 h).
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11, 10, 11, 11, 10, 9, 8, 8, 7, 5, 4, 3, 2)
HOUR_CUMULATIVE = tuple(accumulate(HOUR_WEIGHTS))
MEDIAN_HOURS, SIGMA, MAX_HOURS = 1.85, 0.85, 12.0  # lognormal: p90 about 5.5 h
# Quirks of the history, as shares of its closed sessions (each at least MINIMUM times).
CASES = {
    "second_login": 0.10,  # primary: false, at another host, inside a session of the user
    "not_primary": 0.03,  # a session that is not primary on its own
    "overlapping": 0.01,  # another host, begins inside a session and ends after it
    "nested": 0.005,  # another host, inside a session
    "duplicate": 0.005,  # the same session again under another id
}
FORGOTTEN_SHARE = 0.001  # of the sessions begun 2 to 10 days ago: never closed
OUT_OF_ORDER_SHARE = 0.015  # pairs of sessions that swap ids (twice as many out of order)
MINIMUM = 2
# While time passes, the chance per hour and per campus people come to that:
END_ALL_RATE = 0.005  # staff close every open session of a campus at one instant
DELETE_RATE = 0.02  # the intra deletes a bogus session
ROLES = ("student", "pisciner", "staff")


def seats(campus_id: int) -> list[str]:
    """The hosts (seats) of a campus: every campus names its seats its own way."""
    style = campus_id % 5
    if style == 1:  # Benguerir, Paris: building (c, e), cluster, row, post
        names = product("ce", range(1, 5), range(1, 14), range(1, 11))
        return [f"{b}{c}r{r}p{p}" for b, c, r, p in names]
    if style == 2:  # Brussels: area, row or column, post
        names = product(("fu", "mi", "shi", "a2", "a3"), "rc", range(1, 11), range(1, 12))
        return [f"{a}-{k}{n}-p{p}" for a, k, n, p in names]
    if style == 3:  # cluster, row, seat
        return [f"c{c}r{r}s{n}" for c, r, n in product(range(1, 4), range(1, 13), range(1, 9))]
    if style == 4:  # floor, bay, seat
        return [f"f{f}-b{b}-s{n:02d}" for f, b, n in product(range(4), range(1, 10), range(1, 25))]
    return [f"z{z}r{r}p{p}" for z, r, p in product(range(1, 5), range(1, 9), range(1, 21))]


def attendees(
    users: Iterable[dict],
    campus_users: Iterable[dict],
    cursus_users: Iterable[dict],
    active_campuses: set[int],
) -> dict[str, list[tuple[int, int]]]:
    """Who comes to which campus, by role: students (non-alumni, in the main cursus),
    pisciners (in the piscine only) and staff, each at the campus of their latest primary
    campus_users row (else their latest row), if it is active. Anonymized users stay away."""
    cursus: dict[int, set[int]] = {}
    for row in cursus_users:
        cursus.setdefault(row["user_id"], set()).add(row["cursus_id"])
    best: dict[int, tuple[bool, str, int, int]] = {}
    for row in campus_users:
        rank = (row["is_primary"], row["updated_at"], row["id"], row["campus_id"])
        if rank > best.get(row["user_id"], (False, "", 0, 0)):
            best[row["user_id"]] = rank
    people: dict[str, list[tuple[int, int]]] = {role: [] for role in ROLES}
    for user in sorted(users, key=lambda u: u["id"]):
        uid = user["id"]
        mine = cursus.get(uid, set())
        if user["staff?"]:
            role = "staff"
        elif user["kind"] != "student" or user["alumni?"] or user["login"].startswith("3b3-"):
            continue
        elif MAIN_CURSUS_ID in mine:
            role = "student"
        elif mine == {PISCINE_CURSUS_ID}:
            role = "pisciner"
        else:
            continue
        campus_id = best[uid][3] if uid in best else None
        if campus_id in active_campuses:
            people[role].append((uid, campus_id))
    return people


class Locations:
    """The sessions of a world: ``rows`` (stored form) built for the ``HISTORY_DAYS`` before
    ``start``, then ``advance`` as time passes. ``open`` holds the sessions still open."""

    def __init__(self, data: Dataset, population: Population, start: datetime, seed: int) -> None:
        self.rng = random.Random(f"{seed}:locations")
        self.ids = Ids(random.Random(f"{seed}:location_ids"), {"location": FIRST_ID})
        self.zones = {c["id"]: ZoneInfo(c["time_zone"]) for c in data.campuses}
        self.active = {c["id"] for c in data.campuses if c["active"]}
        self.seats = {campus_id: seats(campus_id) for campus_id in self.active}
        people = attendees(
            population.users, population.campus_users, population.cursus_users, self.active
        )
        self.rows = self.history(people, start)
        self.open = {r["id"]: r for r in self.rows if r["end_at"] is None}

    # -- one session ----------------------------------------------------------------------

    def duration(self, rng: random.Random) -> timedelta:
        return timedelta(hours=min(MAX_HOURS, rng.lognormvariate(log(MEDIAN_HOURS), SIGMA)))

    def host(self, campus_id: int, rng: random.Random) -> str:
        return rng.choice(self.seats[campus_id])

    def other_host(self, campus_id: int, taken: str, rng: random.Random) -> str:
        """Another seat of the campus than ``taken``."""
        seat = self.host(campus_id, rng)
        while seat == taken:
            seat = self.host(campus_id, rng)
        return seat

    def session(
        self,
        uid: int,
        campus_id: int,
        begin: datetime,
        end: datetime,
        now: datetime,
        seat: str,
        primary: bool = True,
    ) -> dict:
        """A session in stored form (its id comes later): closed if it ended by ``now``,
        else open until its planned end."""
        record = {
            "id": None,
            "begin_at": iso(begin),
            "end_at": iso(end) if end <= now else None,
            "primary": primary,
            "host": seat,
            "campus_id": campus_id,
            "user_id": uid,
        }
        if end > now:
            record["_planned_end"] = iso(end)
        return record

    # -- the history ----------------------------------------------------------------------

    def midnights(self, campus_id: int, first: datetime, last: datetime) -> list[datetime]:
        """The instants of the local midnights of the campus's days from ``first`` to ``last``."""
        zone = self.zones[campus_id]
        day: date = first.astimezone(zone).date()
        stop = last.astimezone(zone).date()
        instants = []
        while day <= stop:
            instants.append(datetime.combine(day, datetime.min.time(), zone).astimezone(UTC))
            day += timedelta(days=1)
        return instants

    def history(self, people: dict[str, list[tuple[int, int]]], start: datetime) -> list[dict]:
        rng = self.rng
        window = start - timedelta(days=HISTORY_DAYS)
        midnights = {c: self.midnights(c, window, start) for c in sorted(self.active)}
        rows: list[dict] = []
        last_end: dict[int, datetime] = {}
        for role in ROLES:
            presence = PRESENCE[role]
            for uid, campus_id in people[role]:
                for midnight in midnights[campus_id]:
                    if rng.random() >= presence:
                        continue
                    hour = bisect(HOUR_CUMULATIVE, rng.random() * HOUR_CUMULATIVE[-1])
                    begin = midnight + timedelta(hours=hour + rng.random())
                    sessions = 1 + bisect(SESSIONS_CUMULATIVE, rng.random() * 100)
                    for _ in range(sessions):
                        gap = timedelta(minutes=rng.uniform(5, 150))
                        begin = max(begin, last_end.get(uid, window) + gap)
                        if not window <= begin < min(start, midnight + timedelta(days=1)):
                            break  # a day's sessions begin that day
                        end = begin + self.duration(rng)
                        seat = self.host(campus_id, rng)
                        rows.append(self.session(uid, campus_id, begin, end, start, seat))
                        last_end[uid] = begin = end
        rows += self.present_now(people["student"], rows, last_end, start)
        for role in ("pisciner", "staff"):
            rows += self.some_visits(people[role], rows, start)
        rows += self.quirks(rows, start)
        self.number(rows)
        return rows

    def present_now(self, students, rows, last_end, start) -> list[dict]:
        """Sessions open now (at least ``MINIMUM``; a tiny world at night has none else)."""
        rng = self.rng
        missing = MINIMUM - sum(1 for r in rows if r.get("_planned_end"))
        lately = start - timedelta(hours=3)
        free = [(u, c) for u, c in students if u not in last_end or last_end[u] < lately]
        added = []
        for uid, campus_id in rng.sample(free, max(0, min(missing, len(free)))):
            begin = start - timedelta(hours=rng.uniform(0.25, 2))
            end = start + timedelta(hours=rng.uniform(0.5, 4))
            added.append(self.session(uid, campus_id, begin, end, start, self.host(campus_id, rng)))
        return added

    def some_visits(self, members, rows, start) -> list[dict]:
        """At least ``MINIMUM`` sessions of people of a role (pisciners, staff), whom a client
        drops: a tiny world has few of them."""
        rng = self.rng
        seen = {r["user_id"] for r in rows}
        missing = MINIMUM - sum(1 for u, _ in members if u in seen)
        absent = [(u, c) for u, c in members if u not in seen]
        added = []
        for uid, campus_id in rng.sample(absent, max(0, min(missing, len(absent)))):
            begin = start - timedelta(days=rng.uniform(2, HISTORY_DAYS - 1))
            end = begin + self.duration(rng)
            added.append(self.session(uid, campus_id, begin, end, start, self.host(campus_id, rng)))
        return added

    def quirks(self, rows: list[dict], start: datetime) -> list[dict]:
        """Forgotten logouts, then the ``CASES``, on distinct closed sessions."""
        rng = self.rng

        def share(rate: float, size: int) -> int:
            return min(size, max(MINIMUM, round(rate * size)))

        since, until = iso(start - timedelta(days=10)), iso(start - timedelta(days=2))
        recent = [r for r in rows if r["end_at"] is not None and since <= r["begin_at"] < until]
        for record in rng.sample(recent, share(FORGOTTEN_SHARE, len(recent))):
            record.update(end_at=None, _planned_end=None)
        closed = [r for r in rows if r["end_at"] is not None]
        counts = {kind: share(rate, len(closed)) for kind, rate in CASES.items()}
        picked = iter(rng.sample(closed, min(len(closed), sum(counts.values()))))
        added = []
        for kind, count in counts.items():
            for record in islice(picked, count):
                added += self.quirk(kind, record, start)
        return added

    def quirk(self, kind: str, record: dict, start: datetime) -> list[dict]:
        """One of the ``CASES`` on ``record``: the sessions it adds."""
        rng = self.rng
        if kind == "not_primary":
            record["primary"] = False
            return []
        if kind == "duplicate":
            return [dict(record)]
        begin, end = parse(record["begin_at"]), parse(record["end_at"])
        length = end - begin
        if kind == "second_login":
            begin = begin + min(timedelta(minutes=rng.uniform(1, 20)), length / 2)
            end = begin + (end - begin) * rng.uniform(0.1, 0.9)
        elif kind == "nested":
            begin = begin + length * rng.uniform(0.1, 0.4)
            end = begin + length * rng.uniform(0.1, 0.5)
        else:  # overlapping
            begin = begin + length * rng.uniform(0.3, 0.8)
            end = end + timedelta(minutes=rng.uniform(10, 120))
        campus_id = record["campus_id"]
        seat = self.other_host(campus_id, record["host"], rng)
        return [
            self.session(
                record["user_id"], campus_id, begin, end, start, seat, kind != "second_login"
            )
        ]

    def number(self, rows: list[dict]) -> None:
        """Ids in the order sessions began, except a few pairs swapped: ids are no time cursor."""
        rows.sort(key=lambda r: (r["begin_at"], r["user_id"]))
        for record in rows:
            record["id"] = self.ids.new("location")
        swaps = max(MINIMUM, round(OUT_OF_ORDER_SHARE * len(rows))) if len(rows) > 1 else 0
        for _ in range(swaps):
            first, second = self.rng.sample(rows, 2)
            first["id"], second["id"] = second["id"], first["id"]
        rows.sort(key=lambda r: r["id"])

    # -- time passing ---------------------------------------------------------------------

    def advance(self, activity: Activity, rng: random.Random) -> None:
        """The interval of ``activity``: sessions begin, staff close a campus's sessions,
        sessions end as planned, a bogus one is deleted. Counted in the activity's report."""
        store = activity.store
        rows = store.collections["locations"].rows
        self.open = {i: r for i, r in self.open.items() if rows.get(i) is r and not r["end_at"]}
        collections = store.collections
        people = attendees(
            collections["users"].rows.values(),
            collections["campus_users"].rows.values(),
            collections["cursus_users"].rows.values(),
            self.active,
        )
        self.begin_sessions(activity, people, rng)
        campuses = sorted({c for members in people.values() for _, c in members})
        for _ in range(activity.count(len(campuses) * END_ALL_RATE, rng, scaled=False)):
            self.end_all(activity, rng.choice(campuses), iso(activity.moment(rng)))
        until = iso(activity.end)
        for record in sorted(self.open.values(), key=lambda r: r["id"]):
            if record["_planned_end"] is not None and record["_planned_end"] <= until:
                self.close(activity, record, record["_planned_end"])
        for _ in range(activity.count(len(campuses) * DELETE_RATE, rng, scaled=False)):
            self.delete_one(activity, rng)

    def begin_sessions(self, activity: Activity, people: dict, rng: random.Random) -> None:
        """New sessions, at the history's rate and local hours (candidates drawn at the peak
        hour's rate, kept by their local hour's weight). Someone already in keeps their
        session, unless it is a forgotten one at the campus they come to."""
        inside: dict[int, list[dict]] = {}
        for record in self.open.values():
            inside.setdefault(record["user_id"], []).append(record)
        peak = max(HOUR_WEIGHTS)
        for role in ROLES:
            members = people[role]
            rate = len(members) * PRESENCE[role] * MEAN_SESSIONS / 24
            for _ in range(activity.count(rate * peak * 24 / sum(HOUR_WEIGHTS), rng, scaled=False)):
                uid, campus_id = rng.choice(members)
                begin = activity.moment(rng)
                hour = begin.astimezone(self.zones[campus_id]).hour
                if rng.random() * peak >= HOUR_WEIGHTS[hour]:
                    continue
                mine = inside.get(uid, [])
                if any(r["_planned_end"] or r["campus_id"] != campus_id for r in mine):
                    continue
                for record in self.visit(uid, campus_id, begin, activity.end, rng):
                    record["id"] = self.ids.new("location")
                    activity.store.insert("locations", record)
                    activity.changed["locations"] += 1
                    self.open[record["id"]] = record
                    inside.setdefault(uid, []).append(record)
                    activity.log(
                        "location_begun",
                        uid,
                        "location",
                        record["id"],
                        new=record["begin_at"],
                        at=record["begin_at"],
                    )

    def visit(
        self, uid: int, campus_id: int, begin: datetime, until: datetime, rng: random.Random
    ) -> list[dict]:
        """A new session, open until its planned end; sometimes not primary, sometimes
        recorded twice, sometimes with a second login at another seat (if it begins by
        ``until``)."""
        end = begin + self.duration(rng)
        seat = self.host(campus_id, rng)
        primary = rng.random() >= CASES["not_primary"]
        main = self.session(uid, campus_id, begin, end, begin, seat, primary)
        records = [main]
        if rng.random() < CASES["duplicate"]:
            records.append(dict(main))
        if rng.random() < CASES["second_login"]:
            second = begin + min(timedelta(minutes=rng.uniform(1, 20)), (end - begin) / 2)
            closes = second + (end - second) * rng.uniform(0.1, 0.9)
            if second <= until:
                other = self.other_host(campus_id, seat, rng)
                records.append(self.session(uid, campus_id, second, closes, second, other, False))
        return records

    def close(self, activity: Activity, record: dict, at: str) -> None:
        record["end_at"] = at
        record.pop("_planned_end", None)
        del self.open[record["id"]]
        activity.store.changed("locations", record["id"])
        activity.changed["locations"] += 1
        activity.log("location_ended", record["user_id"], "location", record["id"], new=at, at=at)

    def end_all(self, activity: Activity, campus_id: int, at: str) -> None:
        """Staff close every session open at the campus at ``at`` (forgotten ones too)."""
        for record in sorted(self.open.values(), key=lambda r: r["id"]):
            planned = record["_planned_end"]
            if (
                record["campus_id"] == campus_id
                and record["begin_at"] <= at
                and (planned is None or planned > at)
            ):
                self.close(activity, record, at)

    def delete_one(self, activity: Activity, rng: random.Random) -> None:
        """The intra deletes a session it finds bogus; the API shows no trace of it."""
        rows = activity.store.collections["locations"].rows
        ids = list(rows)
        for _ in range(10 if ids else 0):  # nearly every session is closed: a draw finds one
            record = rows[rng.choice(ids)]
            if record["end_at"] is not None:
                break
        else:
            return
        activity.store.delete("locations", record["id"])
        activity.silent["locations"] += 1
        activity.log(
            "location_deleted",
            record["user_id"],
            "location",
            record["id"],
            old=record["begin_at"],
            silent=True,
        )
