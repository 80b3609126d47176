"""What happens on the intra while time passes (``POST /_sim/advance``).

Per simulated hour, about 3% of the students do something visible: finish a project (a mark,
a validation, often a level up), register to a new one, spend or earn wallet and correction
points, earn an achievement, move in their coalition's ranking. New students arrive, a few
become alumni or change campus; users whose ``anonymize_date`` passes get anonymized. Staff
edit a project now and then. Pisciners are admitted to the cursus: they get a cursus_user and
a first project, but their user object does not change (its ``updated_at`` stays put).

Some changes do not move ``updated_at`` (docs/api-behaviours.md, changes that do not move
updated_at), so an incremental client cannot see them; they are logged in ``store.silent`` for
test oracles:

- a team waiting for correction that gives up moves to ``finished`` silently;
- unregistering from an ``in_progress`` project deletes the projects_user;
- coalition memberships get deleted;
- half of the anonymizations happen without moving ``updated_at``.

Every visible change is stamped at a random moment inside the elapsed interval. A student's
validated project also pushes their blackhole 14 days further.

Students also retry failed projects (``Activity.retry``: a new team, the next ``occurrence``)
and their retries get a mark, drawn from the advance's own attempts stream after everything
else, so that the rest draws the same numbers as before retries existed.

Every change is also appended to ``store.change_log`` (``Activity.log``, ``Store.log_change``),
one entry per change with its kind (``project_finished``, ``level_changed``,
``entered_scope``, ``project_retried``...), the student concerned, the record, its old and new
value, when it happened and whether it was silent: the oracle an integration test compares a
client's event feed with. Logging draws no random number, so a seed's world evolves as it did
without it.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from intra_simulator.generate import MAIN_CURSUS_ID, iso, kept
from intra_simulator.population import (
    ACTIVE_STATUSES,
    PISCINE_CURSUS_ID,
    PopulationBuilder,
    anonymize,
    rank_among,
)
from intra_simulator.store import USER_COLLECTIONS, Store

STUDENT_CHANGE_RATE = 0.03  # share of students with a visible change per hour
MARKS = (0, 50, 80, 100, 100, 115, 125)  # a finished attempt's mark
# Retries: per student and hour, a tenth of the rate at which ``progress`` finishes projects;
# per hour, the chance that a retry in progress is finished.
RETRY_RATE = STUDENT_CHANGE_RATE * 0.4 / 10
RETRY_FINISH_RATE = 0.02
ADMISSIONS_PER_CAMPUS = 0.05  # pisciners admitted to the cursus per kept campus per hour
LIVE_COLLECTIONS = ("users", *USER_COLLECTIONS)  # what a new person has records in
# The change logged for each record of an arriving person's (and the value it carries).
ARRIVAL_KINDS = {
    "projects_users": ("project_registered", "project_id"),
    "achievements_users": ("achievement_earned", "achievement_id"),
    "coalitions_users": ("coalition_joined", "coalition_id"),
}


def current_team(record: dict) -> dict:
    """The team of a registration's current attempt (its ``current_team_id``); the teams
    before it are earlier attempts, which keep their own marks."""
    for team in record["teams"]:
        if team["id"] == record["current_team_id"]:
            return team
    return record["teams"][-1]


def finish_team(record: dict, mark: int, validated: bool, now: str) -> None:
    current_team(record).update(
        status="finished",
        final_mark=mark,
        **{"validated?": validated},
        closed_at=now,
        updated_at=now,
    )


def primary_of(campus_users: list[dict]) -> int | None:
    """The primary campus among a user's campus_users rows, chosen as
    ``Store.primary_campus`` chooses it (the latest primary row)."""
    best: tuple[str, int | None] = ("", None)
    for row in campus_users:
        if row["is_primary"] and row["updated_at"] >= best[0]:
            best = (row["updated_at"], row["campus_id"])
    return best[1]


class Activity:
    """The events between ``start`` and ``end``: they change the ``store``'s records, and
    ``builder`` makes the new people and records, drawing from ``rng``. ``intensity``
    multiplies how many of the students' events happen per hour (``count``); sessions at
    campus keep their own rates."""

    def __init__(
        self,
        store: Store,
        builder: PopulationBuilder,
        rng: random.Random,
        start: datetime,
        end: datetime,
        intensity: float = 1.0,
    ) -> None:
        self.store = store
        self.builder = builder
        self.start = start
        self.end = end
        self.hours = max(0.0, (end - start).total_seconds() / 3600)
        self.intensity = intensity  # 2.5: a busy afternoon; 0.25: a night
        self.rng = rng
        self.changed: Counter = Counter()
        self.silent: Counter = Counter()
        rows = {name: c.rows for name, c in store.collections.items()}
        self.users, self.projects_users = rows["users"], rows["projects_users"]
        self.kept_campuses = [c for c in rows["campus"].values() if kept(c)]
        main = {
            r["user_id"] for r in rows["cursus_users"].values() if r["cursus_id"] == MAIN_CURSUS_ID
        }
        self.students = sorted(
            uid
            for uid, u in self.users.items()
            if u["kind"] == "student" and not u["alumni?"] and uid in main
        )
        cursus_of: dict[int, set[int]] = {}
        for r in rows["cursus_users"].values():
            cursus_of.setdefault(r["user_id"], set()).add(r["cursus_id"])
        kept_ids = {c["id"] for c in self.kept_campuses}
        self.pisciners = sorted(  # in the piscine only, at a kept campus: admissible
            uid
            for uid, u in self.users.items()
            if u["kind"] == "student"
            and not u["alumni?"]
            and cursus_of.get(uid) == {PISCINE_CURSUS_ID}
            and store.primary_campus(uid) in kept_ids
        )

    def moment(self, rng: random.Random | None = None) -> datetime:
        """A moment inside the interval, drawn from ``rng`` (default: the activity's own)."""
        return self.start + timedelta(
            seconds=(rng or self.rng).uniform(0, (self.end - self.start).total_seconds())
        )

    def touch(self, name: str, record: dict, values: dict | None = None) -> str:
        """A visible change: the record's ``updated_at`` moves into the elapsed interval (and
        is returned)."""
        record.update(values or {})
        record["updated_at"] = max(record["updated_at"], iso(self.moment()))
        self.store.changed(name, record["id"])
        self.changed[name] += 1
        return record["updated_at"]

    def quietly(self, name: str, record: dict, values: dict) -> None:
        record.update(values)
        self.store.changed(name, record["id"])
        self.store.silent.setdefault(name, set()).add(record["id"])
        self.silent[name] += 1

    def log(
        self,
        kind: str,
        user_id: int | None,
        subject: str,
        subject_id: int,
        old: object = None,
        new: object = None,
        at: str | None = None,
        silent: bool = False,
    ) -> None:
        """Record a change in the store's change log. ``at`` is the stamp the change wrote
        (``marked_at``, ``alumnized_at``, a new record's ``created_at``), else the
        ``updated_at`` its touch left; a silent change has no stamp of its own and is dated at
        the end of the interval (the latest moment it may have happened)."""
        self.store.log_change(
            kind, user_id, subject, subject_id, old, new, at or iso(self.end), silent
        )

    def count(self, per_hour: float, rng: random.Random | None = None, scaled: bool = True) -> int:
        """How many events of a kind happen in the interval (at least the fractional chance),
        drawn from ``rng`` (default: the activity's own); ``scaled`` by the intensity."""
        expected = per_hour * self.hours * (self.intensity if scaled else 1.0)
        whole = int(expected)
        return whole + (1 if (rng or self.rng).random() < expected - whole else 0)

    def report(self) -> dict:
        """How many records changed, visibly and silently, per collection."""
        return {"changed": dict(self.changed), "silent": dict(self.silent)}

    # -- the interval's events ------------------------------------------------------------

    def run(self) -> dict:
        rng = self.rng
        owned = self.store.owned_by  # a student's rows as they are when they act

        for uid in rng.sample(
            self.students,
            min(len(self.students), self.count(len(self.students) * STUDENT_CHANGE_RATE)),
        ):
            action = rng.choices(
                (
                    self.progress,
                    self.register,
                    self.wallet,
                    self.achievement,
                    self.coalition_score,
                    self.level,
                ),
                weights=(40, 15, 20, 10, 10, 5),
            )[0]
            action(uid, owned(uid))
        per_campus = max(1, len(self.kept_campuses))
        for _ in range(self.count(per_campus * 0.3)):
            self.arrive()
        for uid in rng.sample(
            self.students, min(len(self.students), self.count(per_campus * 0.05))
        ):
            self.alumnize(uid, owned(uid))
        for uid in rng.sample(
            self.students, min(len(self.students), self.count(per_campus * 0.02))
        ):
            self.transfer(uid, owned(uid))
        for uid in self.reaching_anonymization():
            self.anonymize(uid)
        self.silent_changes(per_campus)
        self.staff_edit()
        # last: the events above draw the same random numbers as before admissions existed
        for uid in rng.sample(
            self.pisciners, min(len(self.pisciners), self.count(per_campus * ADMISSIONS_PER_CAMPUS))
        ):
            self.admit(uid)
        self.move_memberships(per_campus)  # after the admissions, for the same reason
        return self.report()

    def move_memberships(self, per_campus: int) -> None:
        """Staff move a few students to another coalition of the same bloc: the membership
        keeps its id, its coalition_id changes and its updated_at moves (a coalition left and
        one joined, in the log)."""
        blocs = [b["coalition_ids"] for b in self.store.collections["blocs"].rows.values()]
        bloc_of = {c: ids for ids in blocs for c in ids if len(ids) > 1}
        memberships = self.store.collections["coalitions_users"].rows
        movable = sorted(rid for rid, r in memberships.items() if r["coalition_id"] in bloc_of)
        for rid in self.rng.sample(movable, min(len(movable), self.count(per_campus * 0.02))):
            record = memberships[rid]
            old = record["coalition_id"]
            new = self.rng.choice([c for c in bloc_of[old] if c != old])
            others = [r["score"] for r in memberships.values() if r["coalition_id"] == new]
            at = self.touch(
                "coalitions_users",
                record,
                {"coalition_id": new, "rank": rank_among(record["score"], others)},
            )
            self.log("coalition_left", record["user_id"], "coalitions_user", rid, old=old, at=at)
            self.log("coalition_joined", record["user_id"], "coalitions_user", rid, new=new, at=at)

    def progress(self, uid: int, mine: dict) -> None:
        """A project's current attempt gets its mark (a retry in progress is ``retry``'s)."""
        active = [
            r
            for r in mine["projects_users"]
            if r["status"] in ACTIVE_STATUSES and not r.get("_retried")
        ]
        if not active:
            return self.register(uid, mine)
        record = self.rng.choice(active)
        mark = self.rng.choice(MARKS)
        validated = mark >= 75
        now = iso(self.moment())
        finish_team(record, mark, validated, now)
        self.touch(
            "projects_users",
            record,
            {
                "status": "finished",
                "final_mark": mark,
                "validated?": validated,
                "marked": True,
                "marked_at": now,
            },
        )
        self.log_finished(uid, record)
        if validated:
            self.level(uid, mine, extend_blackhole=True)

    def register(self, uid: int, mine: dict) -> None:
        done = {r["project_id"] for r in mine["projects_users"]}
        choices = [p for p in self.builder.main_projects if p["id"] not in done]
        if not choices:
            return
        record = self.builder.projects_user(
            self.users[uid], self.rng.choice(choices), self.start, MAIN_CURSUS_ID
        )
        created = iso(self.moment())
        record.update(
            status="in_progress",
            final_mark=None,
            marked=False,
            marked_at=None,
            retriable_at=None,
            created_at=created,
            updated_at=created,
            **{"validated?": None},
        )
        current_team(record).update(
            status="in_progress",
            final_mark=None,
            closed_at=None,
            created_at=created,
            updated_at=created,
            **{"validated?": None},
        )
        self.store.insert("projects_users", record)
        self.changed["projects_users"] += 1
        self.log(
            "project_registered",
            uid,
            "projects_user",
            record["id"],
            new=record["project_id"],
            at=created,
        )

    def wallet(self, uid: int, mine: dict) -> None:
        user = self.users[uid]
        old = user["wallet"]
        at = self.touch(
            "users",
            user,
            {
                "wallet": max(0, user["wallet"] + self.rng.choice((-20, -5, 5, 10, 30))),
                "correction_point": max(0, user["correction_point"] + self.rng.choice((-1, 1, 2))),
            },
        )
        self.log("wallet_changed", uid, "user", uid, old, user["wallet"], at)

    def achievement(self, uid: int, mine: dict) -> None:
        achievement = self.rng.choice(self.builder.data.achievements)
        record = self.builder.achievements_user(self.users[uid], achievement["id"], self.start)
        record["created_at"] = record["updated_at"] = iso(self.moment())
        self.store.insert("achievements_users", record)
        self.changed["achievements_users"] += 1
        self.log(
            "achievement_earned",
            uid,
            "achievements_user",
            record["id"],
            new=record["achievement_id"],
            at=record["created_at"],
        )

    def coalition_score(self, uid: int, mine: dict) -> None:
        """The member's score rises and the API re-ranks that member only: the members they
        overtake keep their rank and their updated_at, stale (quirk of the real API)."""
        for record in mine["coalitions_users"][:1]:
            score = record["score"] + self.rng.randint(1, 50)
            others = [
                r["score"]
                for r in self.store.collections["coalitions_users"].rows.values()
                if r["coalition_id"] == record["coalition_id"] and r["id"] != record["id"]
            ]
            old = record["score"]
            at = self.touch(
                "coalitions_users", record, {"score": score, "rank": rank_among(score, others)}
            )
            self.log(
                "coalition_score_changed", uid, "coalitions_user", record["id"], old, score, at
            )

    def level(self, uid: int, mine: dict, extend_blackhole: bool = False) -> None:
        """The student levels up; with ``extend_blackhole`` (a validated project), their
        blackhole, if they have one, moves 14 days later in the same change."""
        for record in mine["cursus_users"]:
            if record["cursus_id"] == MAIN_CURSUS_ID:
                old_level, old_blackhole = record["level"], record["blackholed_at"]
                level = round(record["level"] + self.rng.uniform(0.05, 0.6), 2)
                values = {"level": level, "grade": "Member" if level > 9 else "Learner"}
                if extend_blackhole and old_blackhole is not None:
                    values["blackholed_at"] = iso(
                        datetime.fromisoformat(old_blackhole) + timedelta(days=14)
                    )
                at = self.touch("cursus_users", record, values)
                self.log("level_changed", uid, "cursus_user", record["id"], old_level, level, at)
                if "blackholed_at" in values:
                    self.log(
                        "blackhole_changed",
                        uid,
                        "cursus_user",
                        record["id"],
                        old_blackhole,
                        values["blackholed_at"],
                        at,
                    )

    def arrive(self) -> None:
        """A new student: every record of theirs is created at the moment they arrive."""
        campus = self.rng.choice(self.kept_campuses)
        before = {name: len(getattr(self.builder.population, name)) for name in LIVE_COLLECTIONS}
        arrived = self.moment()
        self.builder.add_person(campus, "student", now=arrived)
        at = iso(arrived)
        for name in LIVE_COLLECTIONS:
            for record in getattr(self.builder.population, name)[before[name] :]:
                record["created_at"] = record["updated_at"] = at
                if record.get("marked_at"):  # generated after `created`: not in the future
                    record["marked_at"] = at
                self.store.insert(name, record)
                self.changed[name] += 1
                uid = record["id"] if name == "users" else record["user_id"]
                if name == "users":
                    self.log("entered_scope", uid, "user", uid, None, campus["id"], at)
                elif name in ARRIVAL_KINDS:
                    kind, field = ARRIVAL_KINDS[name]
                    subject = name[:-1]
                    self.log(kind, uid, subject, record["id"], new=record[field], at=at)
                if name == "projects_users" and record["status"] == "finished":
                    self.log_finished(uid, record)

    def log_finished(self, uid: int, record: dict) -> None:
        """A marked project's end: finished, then validated or failed, at its ``marked_at``
        (a progress, or a project an arriving student already has)."""
        mark, at = record["final_mark"], record["marked_at"] or record["updated_at"]
        self.log("project_finished", uid, "projects_user", record["id"], new=mark, at=at)
        if record["validated?"] is not None:
            kind = "project_validated" if record["validated?"] else "project_failed"
            self.log(kind, uid, "projects_user", record["id"], new=mark, at=at)

    def admit(self, uid: int) -> dict:
        """A pisciner admitted to the cursus: a new cursus_user, then a first project. The user
        object is not touched: a client reading the cursus's users by ``updated_at`` does not
        see them arrive, while their enrolment and projects show."""
        admitted = self.moment()
        stamp = iso(admitted)
        record = self.builder.cursus_user(self.users[uid], MAIN_CURSUS_ID, admitted, "student")
        record.update(
            level=0.0,
            grade="Learner",
            skills=[],
            blackholed_at=iso(admitted + timedelta(days=90)),
            created_at=stamp,
            updated_at=stamp,
        )
        self.store.insert("cursus_users", record)
        self.changed["cursus_users"] += 1
        mine = self.store.owned_by(uid)
        campus = primary_of(mine["campus_users"])
        self.log("entered_scope", uid, "user", uid, None, campus, stamp)
        self.register(uid, mine)
        return record

    def alumnize(self, uid: int, mine: dict) -> None:
        now = iso(self.moment())
        self.touch("users", self.users[uid], {"alumni?": True, "alumnized_at": now})
        self.log("became_alumni", uid, "user", uid, False, True, now)
        for record in mine["cursus_users"]:
            if record["cursus_id"] == MAIN_CURSUS_ID:
                old = record["end_at"]
                self.touch("cursus_users", record, {"end_at": now})
                self.log("cursus_ended", uid, "cursus_user", record["id"], old, now, now)

    def transfer(self, uid: int, mine: dict) -> None:
        current = [r for r in mine["campus_users"] if r["is_primary"]]
        targets = [
            c["id"] for c in self.kept_campuses if c["id"] not in {r["campus_id"] for r in current}
        ]
        if not current or not targets:
            return
        previous = primary_of(current)
        for record in current:
            self.touch("campus_users", record, {"is_primary": False})
        record = self.builder.campus_user(
            self.users[uid], self.rng.choice(targets), True, self.moment()
        )
        self.store.insert("campus_users", record)
        self.changed["campus_users"] += 1
        self.log(
            "entered_scope", uid, "user", uid, previous, record["campus_id"], record["created_at"]
        )

    def reaching_anonymization(self) -> list[int]:
        """Users whose ``anonymize_date`` falls inside the elapsed interval."""
        return [
            uid
            for uid, user in sorted(self.users.items())
            if not user["login"].startswith("3b3-")
            and self.start < datetime.fromisoformat(user["anonymize_date"]) <= self.end
        ]

    def anonymize(self, uid: int) -> None:
        user = self.users[uid]
        values = dict(user)
        anonymize(values)
        values = {k: v for k, v in values.items() if k != "updated_at"}
        old = user["login"]
        self.store.former_logins[uid] = old
        if self.rng.random() < 0.5:
            at = self.touch("users", user, values)
            self.log("anonymized", uid, "user", uid, old, user["login"], at)
        else:
            self.quietly("users", user, values)
            self.log("anonymized", uid, "user", uid, old, user["login"], silent=True)

    def silent_changes(self, per_campus: int) -> None:
        # Each count first: a scan of every registration only when some change happens (the
        # draws are the same either way; a few seconds' interval usually has none).
        count = self.count(per_campus * 0.02)
        waiting = (
            [r for r in self.projects_users.values() if r["status"] == "waiting_for_correction"]
            if count
            else []
        )
        for record in self.rng.sample(waiting, min(len(waiting), count)):
            self.quietly("projects_users", record, {"status": "finished"})
            self.log(
                "project_finished",
                record["user_id"],
                "projects_user",
                record["id"],
                new=record["final_mark"],
                silent=True,
            )
        count = self.count(per_campus * 0.02)
        in_progress = (
            [
                r
                for r in self.projects_users.values()
                if r["status"] == "in_progress" and not r.get("_retried")
            ]
            if count
            else []
        )
        for record in self.rng.sample(in_progress, min(len(in_progress), count)):
            self.store.delete("projects_users", record["id"])
            self.silent["projects_users"] += 1
            self.log(
                "project_unregistered",
                record["user_id"],
                "projects_user",
                record["id"],
                old=record["project_id"],
                silent=True,
            )
        memberships = self.store.collections["coalitions_users"].rows
        for rid in self.rng.sample(
            sorted(memberships), min(len(memberships), self.count(per_campus * 0.02))
        ):
            record = memberships[rid]
            self.store.delete("coalitions_users", rid)
            self.silent["coalitions_users"] += 1
            self.log(
                "coalition_left",
                record["user_id"],
                "coalitions_user",
                rid,
                old=record["coalition_id"],
                silent=True,
            )

    def staff_edit(self) -> None:
        projects = self.store.collections["projects"].rows
        for pid in self.rng.sample(sorted(projects), min(len(projects), self.count(1))):
            project = projects[pid]
            if project.get("difficulty") is not None:
                old = project["difficulty"]
                at = self.touch(
                    "projects",
                    project,
                    {"difficulty": project["difficulty"] + self.rng.choice((-25, 25, 50))},
                )
                self.log("project_edited", None, "project", pid, old, project["difficulty"], at)

    # -- retries (their own random stream) ---------------------------------------------------

    def retry(self, rng: random.Random) -> None:
        """Students retry failed projects, and retries in progress get their mark.

        Drawn from ``rng``, the advance's own attempts stream, after everything else, so the
        rest of the world draws as it did before retries existed; for the same reason the other
        actions leave a retry in progress alone (``progress`` and ``silent_changes`` skip
        ``_retried`` registrations): this stream marks it. A retry's validation does not
        level the student up (that would draw from the main stream)."""
        students = set(self.students)
        since = iso(self.start)
        retrying, failed = [], []
        for record in self.projects_users.values():
            if record.get("_retried") and record["status"] == "in_progress":
                retrying.append(record)
            elif (
                record["status"] == "finished"
                and record["validated?"] is False
                and record["user_id"] in students
                and (record["retriable_at"] or "") <= since
                and record["updated_at"] < since
            ):
                failed.append(record)
        for record in retrying:
            if rng.random() < self.hours * self.intensity * RETRY_FINISH_RATE:
                self.mark_retry(record, rng)
        count = self.count(len(self.students) * RETRY_RATE, rng)
        for record in rng.sample(failed, min(len(failed), count)):
            self.retry_project(record, rng)

    def retry_project(self, record: dict, rng: random.Random) -> None:
        """A new attempt: a new team, the next ``occurrence``, the registration back in
        progress (``updated_at`` moves)."""
        at = iso(self.moment(rng))
        old = record["occurrence"]
        team = {
            "id": self.builder.attempt_ids.new("retry_team"),
            "final_mark": None,
            "project_id": record["project_id"],
            "created_at": at,
            "updated_at": at,
            "status": "in_progress",
            "user_ids": [record["user_id"]],
            "validated?": None,
            "locked_at": at,
            "closed_at": None,
            "project_session_id": current_team(record)["project_session_id"],
        }
        record["teams"].append(team)
        record.update(
            occurrence=old + 1,
            current_team_id=team["id"],
            status="in_progress",
            final_mark=None,
            marked=False,
            marked_at=None,
            retriable_at=None,
            updated_at=max(record["updated_at"], at),
            _retried=True,
            **{"validated?": None},
        )
        self.store.changed("projects_users", record["id"])
        self.changed["projects_users"] += 1
        self.log(
            "project_retried",
            record["user_id"],
            "projects_user",
            record["id"],
            old,
            old + 1,
            record["updated_at"],
        )

    def mark_retry(self, record: dict, rng: random.Random) -> None:
        mark = rng.choice(MARKS)
        validated = mark >= 75
        now = iso(self.moment(rng))
        finish_team(record, mark, validated, now)
        record.update(
            status="finished",
            final_mark=mark,
            marked=True,
            marked_at=now,
            updated_at=max(record["updated_at"], now),
            **{"validated?": validated},
        )
        self.store.changed("projects_users", record["id"])
        self.changed["projects_users"] += 1
        self.log_finished(record["user_id"], record)
