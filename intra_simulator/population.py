"""The people of a simulated network and their progress: users, campus and cursus
enrolments, projects, achievements and coalition memberships.

Records are stored in API shape, with nested copies of other objects kept as ids (a
``projects_user`` stores ``user_id``; the light user is embedded when it is served, as the real
API embeds the user's *current* state).

Populations follow the real network's make-up and sizes: per kept campus mostly non-alumni
42cursus students, plus alumni, pisciners (C Piscine only), staff (``kind`` admin), externals
and a few anonymized users (``3b3-<id>``); students also at dropped campuses. At ``network``
scale that is about 40,000 non-alumni cursus-21 students at kept campuses with about 30
projects_users each.

A registration's ``teams`` are its attempts: ``occurrence`` k means k earlier teams, finished
and failed, then the current one (``current_team_id``). The earlier ones draw from their own
stream and id counter (``PopulationBuilder.earlier_teams``), so every other record of a seed
is as it was before they existed.

Two behaviours of the real API that clients must not take for granted (docs/api-behaviours.md,
students without a primary campus, stale coalition ranks):

- a few students have campus_users rows but none marked primary (the intra's own clients fall
  back to a default campus for them), ``PopulationScale.no_primary_share``;
- a coalition member's ``rank`` is relative to the other members' scores, but the API re-ranks
  only the member whose score changed: the others' ranks go stale without their ``updated_at``
  moving (``activity``). Ranks start consistent with the scores (``rank_memberships``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from intra_simulator.generate import DATA_EPOCH, MAIN_CURSUS_ID, Dataset, iso, kept
from intra_simulator.names import FIRST_NAMES, LAST_NAMES

PISCINE_CURSUS_ID = 9
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
SKILLS = (
    (1, "Algorithms & AI"), (2, "Imperative programming"), (3, "Rigor"), (4, "Unix"),
    (5, "Graphics"), (6, "Network & system administration"), (7, "Object-oriented programming"),
    (8, "Web"), (9, "Adaptation & creativity"), (10, "Group & interpersonal"),
)  # fmt: skip
ACTIVE_STATUSES = ("in_progress", "waiting_for_correction", "searching_a_group", "creating_group")
# Team ids of earlier attempts (generated) and of retries (made as time passes); current
# teams take theirs from 4,000,000 up (``Ids``).
EARLIER_TEAM_IDS = 1_000_000
RETRY_TEAM_IDS = 9_000_000
FAILING_MARKS = (0, 0, 42, 50, 50, 60)  # an earlier attempt's mark (-42, cheating, rarely)


@dataclass(frozen=True)
class PopulationScale:
    students_per_kept_campus: tuple[int, int]  # non-alumni cursus-21 students
    students_per_dropped_campus: tuple[int, int]
    alumni_share: float
    pisciner_share: float
    staff_per_campus: int
    externals_share: float
    projects_per_student: tuple[int, int]
    achievements_per_student: tuple[int, int]
    anonymized_share: float
    no_primary_share: float  # students with no primary campus_users row (0: none)


POPULATIONS = {
    "tiny": PopulationScale((4, 8), (1, 3), 0.2, 0.2, 1, 0.05, (3, 8), (1, 4), 0.05, 0.15),
    "small": PopulationScale((40, 100), (5, 15), 0.2, 0.3, 2, 0.05, (10, 30), (3, 10), 0.02, 0.02),
    "network": PopulationScale(
        (380, 1100), (30, 120), 0.2, 0.35, 6, 0.04, (20, 40), (8, 20), 0.01, 0.01
    ),
}


@dataclass
class Population:
    users: list[dict] = field(default_factory=list)
    campus_users: list[dict] = field(default_factory=list)
    cursus_users: list[dict] = field(default_factory=list)
    projects_users: list[dict] = field(default_factory=list)
    achievements_users: list[dict] = field(default_factory=list)
    coalitions_users: list[dict] = field(default_factory=list)


# Where each kind's ids start (``Ids``).
SEQUENCES = {
    "user": 10_000,
    "campus_user": 100_000,
    "cursus_user": 50_000,
    "projects_user": 2_000_000,
    "achievements_user": 500_000,
    "coalitions_user": 80_000,
    "team": 4_000_000,
}


class Ids:
    """Increasing ids per kind, like database sequences (new records get larger ids).

    ``starts`` gives other kinds their own counter: a new kind of record draws its ids from
    its own ``rng``, so the ids of every existing kind stay as they were for a seed."""

    def __init__(self, rng: random.Random, starts: dict[str, int] | None = None) -> None:
        self._next = dict(starts or SEQUENCES)
        self.rng = rng

    def new(self, kind: str) -> int:
        self._next[kind] += self.rng.randint(1, 3)
        return self._next[kind]


def local_midnight(moment: datetime, time_zone: str) -> str:
    """``anonymize_date`` style: midnight in the campus's time zone, with its UTC offset."""
    local = moment.astimezone(ZoneInfo(time_zone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    offset = local.utcoffset() or timedelta(0)
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return local.strftime("%Y-%m-%dT%H:%M:%S.000") + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def anonymize(user: dict) -> None:
    """What the intra does to a user whose data retention ended (docs/api-behaviours.md,
    anonymization)."""
    uid = user["id"]
    user.update(
        email=f"3b3-{uid}@student.42.fr",
        login=f"3b3-{uid}",
        first_name="3b3",
        last_name=str(uid),
        usual_full_name=f"3b3 {uid}",
        usual_first_name=None,
        url=f"https://api.intra.42.fr/v2/users/3b3-{uid}",
        displayname=f"3b3 {uid}",
        image={
            "link": None,
            "versions": {"large": None, "medium": None, "small": None, "micro": None},
        },
        location=None,
    )


class PopulationBuilder:
    """Builds a population, and creates single people later when time passes (``activity``)."""

    def __init__(self, data: Dataset, seed: int, scale: str) -> None:
        self.data = data
        self.scale = POPULATIONS[scale]
        self.rng = random.Random(f"{seed}:population")
        self.ids = Ids(random.Random(f"{seed}:ids"))
        # Attempts before a registration's current one (``earlier_teams``) and retries made
        # as time passes (``activity``): their own streams and team ids, below and above the
        # range of current teams (4,000,000 up), so every other record stays as it was.
        self.attempts_rng = random.Random(f"{seed}:attempts")
        self.attempt_ids = Ids(
            random.Random(f"{seed}:attempt_ids"),
            {"earlier_team": EARLIER_TEAM_IDS, "retry_team": RETRY_TEAM_IDS},
        )
        # Its own stream: choosing who lacks a primary campus leaves everyone else as they were.
        self.no_primary_rng = random.Random(f"{seed}:no_primary")
        self.campuses = {c["id"]: c for c in data.campuses}
        self.main_projects = [p for p in data.projects if MAIN_CURSUS_ID in p["cursus_ids"]]
        self.piscine_projects = [p for p in data.projects if PISCINE_CURSUS_ID in p["cursus_ids"]][
            :12
        ]
        self.blocs_by_campus: dict[tuple[int, int], list[int]] = {}
        for bloc in data.blocs:
            self.blocs_by_campus.setdefault((bloc["campus_id"], bloc["cursus_id"]), []).extend(
                bloc["coalition_ids"]
            )
        self.logins: set[str] = set()
        self.population = Population()
        self.members: dict[int, list[dict]] = {}  # coalition id -> its coalitions_users

    # -- the whole population -------------------------------------------------------------

    def build(self) -> Population:
        rng, spec = self.rng, self.scale
        for campus in self.data.campuses:
            low, high = (
                spec.students_per_kept_campus if kept(campus) else spec.students_per_dropped_campus
            )
            students = rng.randint(low, high)
            for _ in range(students):
                self.add_person(campus, "student")
            for _ in range(round(students * spec.alumni_share)):
                self.add_person(campus, "alumni")
            for _ in range(round(students * spec.pisciner_share)):
                self.add_person(campus, "pisciner")
            for _ in range(round(students * spec.externals_share)):
                self.add_person(campus, "external")
            for _ in range(spec.staff_per_campus):
                self.add_person(campus, "staff")
        self._add_transfers()
        rank_memberships(self.population.coalitions_users)
        return self.population

    def add_person(self, campus: dict, role: str, now: datetime | None = None) -> dict:
        """A user with their campus, cursus, projects, achievements and coalition records."""
        rng = self.rng
        joined = now or self._past(2016 if role in ("alumni", "staff") else 2019)
        user = self._user(campus, role, joined)
        self.population.users.append(user)
        primary = not (
            role == "student" and self.no_primary_rng.random() < self.scale.no_primary_share
        )
        self.population.campus_users.append(self.campus_user(user, campus["id"], primary, joined))
        if role != "staff":
            self.population.cursus_users.append(
                self.cursus_user(user, PISCINE_CURSUS_ID, joined, role)
            )
        if role == "pisciner":
            for project in rng.sample(self.piscine_projects, min(len(self.piscine_projects), 3)):
                self.population.projects_users.append(
                    self.projects_user(user, project, joined, PISCINE_CURSUS_ID)
                )
        if role in ("student", "alumni", "staff") or (role == "external" and rng.random() < 0.5):
            started = joined + timedelta(days=30)
            self.population.cursus_users.append(
                self.cursus_user(user, MAIN_CURSUS_ID, started, role)
            )
        if role in ("student", "alumni"):
            low, high = self.scale.projects_per_student
            for project in rng.sample(
                self.main_projects, min(len(self.main_projects), rng.randint(low, high))
            ):
                self.population.projects_users.append(
                    self.projects_user(user, project, joined, MAIN_CURSUS_ID)
                )
            low, high = self.scale.achievements_per_student
            for achievement in rng.sample(self.data.achievements, rng.randint(low, high)):
                self.population.achievements_users.append(
                    self.achievements_user(user, achievement["id"], joined)
                )
            coalitions = self.blocs_by_campus.get((campus["id"], MAIN_CURSUS_ID))
            if coalitions:
                coalition = rng.choice(coalitions)
                self.population.coalitions_users.append(
                    self.coalitions_user(user, coalition, joined)
                )
                if rng.random() < 0.01:  # the API has users twice in the same coalition
                    self.population.coalitions_users.append(
                        self.coalitions_user(user, coalition, joined)
                    )
        if role == "pisciner":
            coalitions = self.blocs_by_campus.get((campus["id"], PISCINE_CURSUS_ID))
            if coalitions:
                self.population.coalitions_users.append(
                    self.coalitions_user(user, rng.choice(coalitions), joined)
                )
        return user

    def _add_transfers(self) -> None:
        """Some students moved: their first campus row is no longer primary. A student without
        a primary row gets a second one that is not primary either."""
        rng = self.rng
        kept_ids = [c["id"] for c in self.data.campuses if kept(c)]
        first = {cu["user_id"]: cu for cu in self.population.campus_users}
        for user in rng.sample(self.population.users, len(self.population.users) // 25):
            old = first[user["id"]]
            target = rng.choice(kept_ids)
            if target == old["campus_id"]:
                continue
            had_primary = old["is_primary"]
            old["is_primary"] = False
            moved = datetime.fromisoformat(old["created_at"].replace("Z", "+00:00")) + timedelta(
                days=200
            )
            moved = min(moved, DATA_EPOCH - timedelta(days=1))
            old["updated_at"] = iso(moved)
            self.population.campus_users.append(self.campus_user(user, target, had_primary, moved))

    # -- single records -------------------------------------------------------------------

    def _past(self, start_year: int) -> datetime:
        start = datetime(start_year, 1, 1, tzinfo=UTC)
        return start + timedelta(seconds=self.rng.uniform(0, (DATA_EPOCH - start).total_seconds()))

    def _moment_after(self, start: datetime, until: datetime | None = None) -> datetime:
        end = until or DATA_EPOCH
        if end <= start:
            return start
        return start + timedelta(seconds=self.rng.uniform(0, (end - start).total_seconds()))

    def _stamp_after(self, start: datetime, until: datetime | None = None) -> str:
        return iso(self._moment_after(start, until))

    def _login(self, first: str, last: str) -> str:
        base = (first[0] + last).lower()[:8]
        login, n = base, 1
        while login in self.logins:
            n += 1
            login = f"{base[:7]}{n}"
        self.logins.add(login)
        return login

    def _user(self, campus: dict, role: str, joined: datetime) -> dict:
        rng = self.rng
        uid = self.ids.new("user")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        login = self._login(first, last)
        domain = campus["email_extension"] or "42.fr"
        has_photo = rng.random() < 0.9
        cdn = f"https://cdn.intra.42.fr/users/{rng.getrandbits(128):032x}"
        pool = joined - timedelta(days=30)
        alumni = role == "alumni"
        # data retention ends years ahead (every real user shows a future date)
        retention = max(joined, DATA_EPOCH) + timedelta(days=rng.randint(120, 365 * 6))
        user = {
            "id": uid,
            "email": f"{login}@student.{domain}",
            "login": login,
            "first_name": first,
            "last_name": last,
            "usual_full_name": f"{first} {last}",
            "usual_first_name": first if rng.random() < 0.05 else None,
            "url": f"https://api.intra.42.fr/v2/users/{login}",
            "phone": "hidden",
            "displayname": f"{first} {last}",
            "kind": {"staff": "admin", "external": "external"}.get(role, "student"),
            "image": {
                "link": f"{cdn}/{login}.jpg" if has_photo else None,
                "versions": {
                    size: f"{cdn}/{size}_{login}.jpg" if has_photo else None
                    for size in ("large", "medium", "small", "micro")
                },
            },
            "staff?": role == "staff",
            "correction_point": rng.randint(0, 20),
            "pool_month": MONTHS[pool.month - 1] if role != "staff" else None,
            "pool_year": str(pool.year) if role != "staff" else None,
            "location": f"c{rng.randint(1, 4)}r{rng.randint(1, 12)}s{rng.randint(1, 8)}"
            if rng.random() < 0.05
            else None,
            "wallet": rng.randint(0, 800),
            "anonymize_date": local_midnight(retention, campus["time_zone"]),
            "data_erasure_date": local_midnight(retention, campus["time_zone"]),
            "created_at": iso(joined),
            "updated_at": self._stamp_after(joined),
            "alumnized_at": self._stamp_after(joined + timedelta(days=700)) if alumni else None,
            "alumni?": alumni,
            "active?": rng.random() < 0.5,
            "_campus_id": campus["id"],  # internal: where the person studies (not served)
        }
        if rng.random() < self.scale.anonymized_share and role != "staff":
            user["anonymize_date"] = local_midnight(
                joined + timedelta(days=30), campus["time_zone"]
            )
            user["data_erasure_date"] = user["anonymize_date"]
            anonymize(user)
        return user

    def campus_user(self, user: dict, campus_id: int, primary: bool, when: datetime) -> dict:
        return {
            "id": self.ids.new("campus_user"),
            "user_id": user["id"],
            "campus_id": campus_id,
            "is_primary": primary,
            "created_at": iso(when),
            "updated_at": iso(when),
        }

    def cursus_user(self, user: dict, cursus_id: int, begin: datetime, role: str) -> dict:
        rng = self.rng
        main = cursus_id == MAIN_CURSUS_ID
        level = (
            round(rng.uniform(0, 21 if role == "alumni" else 14), 2)
            if main
            else round(rng.uniform(2, 11), 2)
        )
        ended = role == "alumni" or not main
        blackhole = None
        if main and role == "student":
            blackhole = iso(DATA_EPOCH + timedelta(days=rng.randint(-60, 400)))
        return {
            "id": self.ids.new("cursus_user"),
            "begin_at": iso(begin),
            "end_at": iso(begin + timedelta(days=26 if not main else 900)) if ended else None,
            "grade": ("Member" if level > 9 else "Learner") if main else None,
            "level": level + rng.choice((0.0, 0.0, 1e-15)),  # the API's float noise
            "skills": [
                {"id": sid, "name": name, "level": round(rng.uniform(0, level + 1), 2)}
                for sid, name in rng.sample(SKILLS, rng.randint(1, 5))
            ],
            "cursus_id": cursus_id,
            "has_coalition": main,
            "blackholed_at": blackhole,
            "created_at": iso(begin),
            "updated_at": self._stamp_after(begin),
            "user_id": user["id"],
        }

    def projects_user(self, user: dict, project: dict, after: datetime, cursus_id: int) -> dict:
        rng = self.rng
        created = self._moment_after(after)
        status = "finished" if rng.random() < 0.75 else rng.choice(ACTIVE_STATUSES)
        finished = status == "finished"
        mark = None
        if finished:
            mark = (
                rng.choice((0, 0, 42, 75, 80, 100, 100, 100, 100, 115, 125))
                if rng.random() < 0.97
                else -42
            )
        validated = (mark is not None and mark >= 75) if finished else None
        marked_at = iso(created + timedelta(days=rng.randint(1, 30))) if finished else None
        team_id = self.ids.new("team")
        record = {
            "id": self.ids.new("projects_user"),
            "occurrence": rng.choice((0, 0, 0, 1, 2)),
            "final_mark": mark,
            "status": status,
            "validated?": validated,
            "current_team_id": team_id,
            "project_id": project["id"],
            "cursus_ids": [cursus_id],
            "marked_at": marked_at,
            "marked": finished,
            "retriable_at": iso(created + timedelta(days=3))
            if finished and not validated
            else None,
            "created_at": iso(created),
            "updated_at": self._stamp_after(created),
            "user_id": user["id"],
            "teams": [self._team(team_id, user, project, status, mark, validated, created)],
        }
        record["teams"][:0] = self.earlier_teams(record, user, project, created)
        return record

    def earlier_teams(self, record: dict, user: dict, project: dict, created: datetime) -> list:
        """The attempts before the current team, one per ``occurrence`` (each team is an
        attempt): finished and failed, the first one earliest. They are dated before the
        registration's ``created_at``, which stays as the registration was first drawn."""
        rng, teams = self.attempts_rng, []
        when = created
        for _ in range(record["occurrence"]):
            when -= timedelta(days=rng.uniform(14, 60))
            mark = rng.choice(FAILING_MARKS) if rng.random() < 0.97 else -42
            team = self._team(None, user, project, "finished", mark, False, when)
            teams.insert(0, team)
        for team in teams:  # numbered in the order of the attempts
            team["id"] = self.attempt_ids.new("earlier_team")
        return teams

    def _team(self, team_id, user, project, status, mark, validated, created) -> dict:
        """A team in stored form; ``render`` makes name, url and repository from the ids."""
        finished = status == "finished"
        two_days_later = iso(created + timedelta(days=2))
        return {
            "id": team_id,
            "final_mark": mark,
            "project_id": project["id"],
            "created_at": iso(created),
            "updated_at": two_days_later,
            "status": status if status != "searching_a_group" else "creating_group",
            "user_ids": [user["id"]],
            "validated?": validated,
            "locked_at": iso(created + timedelta(hours=1)) if status != "creating_group" else None,
            "closed_at": two_days_later if finished else None,
            "project_session_id": (project["project_sessions"] or [{"id": None}])[0]["id"],
        }

    def achievements_user(self, user: dict, achievement_id: int, after: datetime) -> dict:
        created = self._stamp_after(after)
        return {
            "id": self.ids.new("achievements_user"),
            "achievement_id": achievement_id,
            "user_id": user["id"],
            "nbr_of_success": None,
            "created_at": created,
            "updated_at": created,
        }

    def coalitions_user(self, user: dict, coalition_id: int, after: datetime) -> dict:
        """A new member, ranked among the members at that moment (the others are not
        re-ranked: stale). Memberships deleted since the build still count: close enough."""
        created = self._stamp_after(after)
        score = self.rng.randint(0, 5000)
        self.rng.randint(1, 300)  # the rank drawn before ranks followed scores: same data per seed
        members = self.members.setdefault(coalition_id, [])
        record = {
            "id": self.ids.new("coalitions_user"),
            "coalition_id": coalition_id,
            "user_id": user["id"],
            "score": score,
            "rank": rank_among(score, [m["score"] for m in members]),
            "created_at": created,
            "updated_at": created,
        }
        members.append(record)
        return record


def rank_among(score: int, others: list[int]) -> int:
    """A member's rank in their coalition: 1 + the other members with a higher score (equal
    scores share a rank, as SQL's ``rank()``)."""
    return 1 + sum(other > score for other in others)


def rank_memberships(memberships: list[dict]) -> None:
    """Rank every membership from the scores of its coalition, as the API does when it
    recomputes a whole coalition."""
    scores: dict[int, list[int]] = {}
    for membership in memberships:
        scores.setdefault(membership["coalition_id"], []).append(membership["score"])
    for membership in memberships:
        membership["rank"] = rank_among(membership["score"], scores[membership["coalition_id"]])


def build_population(data: Dataset, seed: int, scale: str) -> tuple[Population, PopulationBuilder]:
    builder = PopulationBuilder(data, seed, scale)
    return builder.build(), builder


def schedule_anonymizations(
    population: Population, data: Dataset, start: datetime, seed: int
) -> list[int]:
    """Give a few users an ``anonymize_date`` a few hours after the clock starts, so that the
    date passes while a client is mirroring them (``activity`` then anonymizes them)."""
    rng = random.Random(f"{seed}:anonymizations")
    campuses = {c["id"]: c for c in data.campuses}
    candidates = [u for u in population.users if not u["login"].startswith("3b3-")]
    chosen = rng.sample(candidates, min(len(candidates), max(2, len(candidates) // 1000)))
    for user in chosen:
        when = start + timedelta(hours=rng.uniform(1, 12))
        user["anonymize_date"] = user["data_erasure_date"] = local_midnight_at(
            when, campuses[user["_campus_id"]]
        )
    return sorted(u["id"] for u in chosen)


def local_midnight_at(moment: datetime, campus: dict) -> str:
    """A timestamp in the campus's local offset, to the millisecond (anonymize_date style)."""
    local = moment.astimezone(ZoneInfo(campus["time_zone"]))
    return local.isoformat(timespec="milliseconds")
