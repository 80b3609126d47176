"""The marts the report reads, made by hand: the tables of the report's contract with exactly
its columns (the dbt models that build them are not the report's), and rows that look like a
few campuses' last two years: a large campus, two smaller ones, and one just opened, which has
no data at all."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from psycopg2.extras import execute_values

from pipelines.run import ledger

SHARES = ", ".join(f"milestone_{n}_share numeric" for n in range(7))
TABLES = {
    "campuses": "campus_id bigint, name text, time_zone text, city text",
    "coalitions": (
        "coalition_id bigint, name text, slug text, image_url text, cover_url text, "
        "color text, score bigint, leader_user_id bigint, bloc_id bigint, campus_id bigint, "
        "cursus_id bigint"
    ),
    "campus_monthly": (
        "campus_id bigint, month date, students_in_scope int, admissions int, blackholes int, "
        "alumni int, average_level numeric, students_seen_on_campus int, logtime_seconds bigint"
    ),
    "student_progress": (
        "user_id bigint, login text, campus_id bigint, pool_month text, pool_year text, "
        "cursus_begin_at timestamptz, level numeric, grade text, blackholed_at timestamptz, "
        "blackhole_days_left int, is_past_blackhole bool, projects_validated int, "
        "projects_in_progress int, projects_failed int, last_validated_at timestamptz, "
        "coalition_id bigint, achievements int, logtime_7_days_seconds bigint, "
        "logtime_30_days_seconds bigint, last_seen_on_campus_at timestamptz, "
        "in_scope_since timestamptz"
    ),
    "project_stats": (
        "project_id bigint, project_name text, campus_id bigint, milestone int, "
        "registrations int, in_progress int, finished int, validated int, "
        "first_attempts_finished int, first_attempts_validated int, first_try_pass_rate numeric, "
        "students_finished int, students_validated int, eventual_pass_rate numeric, "
        "average_final_mark numeric, median_final_mark numeric, "
        "median_days_to_validation numeric, retries_per_student numeric"
    ),
    "cohort_progress": (
        "campus_id bigint, pool_year int, pool_month text, cohort_start date, "
        f"months_since_start int, students int, still_in_scope int, median_level numeric, {SHARES}"
    ),
    "campus_logtime_heatmap": (
        "campus_id bigint, weekday smallint, hour smallint, seconds bigint, "
        "average_students numeric, period_start date, period_end date"
    ),
    "coalition_standings": (
        "coalition_id bigint, coalition_name text, bloc_id bigint, campus_id bigint, members int, "
        "members_with_score int, total_score bigint, average_score numeric, rank_in_bloc int, "
        "api_score bigint"
    ),
    "coalition_standings_monthly": (
        "coalition_id bigint, month date, members int, total_score bigint, "
        "average_score numeric, rank_in_bloc int"
    ),
    "logtime_daily": (
        "user_id bigint, campus_id bigint, day date, seconds int, day_seconds int, "
        "includes_open_session bool, includes_capped_session bool"
    ),
}

# campus id, name, time zone, students in scope today (0: opened this week, no data yet)
CAMPUSES = [
    (1, "Paris", "Europe/Paris", 1240),
    (26, "Tokyo", "Asia/Tokyo", 380),
    (38, "Lisboa", "Europe/Lisbon", 520),
    (77, "Lausanne", "Europe/Zurich", 0),
]
COALITIONS = {
    1: [("The Order", "#ff6950"), ("The Alliance", "#33c47f"), ("The Federation", "#4180db"),
        ("The Assembly", "#a061d1")],
    26: [("Wind", "#5bc0de"), ("Earth", "#8d6e63"), ("Fire", "#e74c3c"), ("Water", "#2980b9")],
    38: [("Tejo", "#1abc9c"), ("Alfama", "#f1c40f"), ("Belém", "#e67e22")],
}  # fmt: skip
MILESTONE_PROJECTS = [
    (1314, "Libft", 0), (1316, "ft_printf", 1), (1327, "get_next_line", 1),
    (1338, "Born2beroot", 1), (1471, "push_swap", 2), (1476, "minitalk", 2),
    (1576, "so_long", 2), (1331, "minishell", 3), (1334, "Philosophers", 3),
    (1318, "NetPractice", 4), (1326, "cub3d", 4), (1438, "CPP Module 04", 4),
    (1983, "Inception", 5), (1332, "webserv", 5), (1345, "CPP Module 09", 5),
    (1337, "ft_transcendence", 6),
]  # fmt: skip
POOLS = [
    (year, month, number)
    for year in (2024, 2025, 2026)
    for month, number in (("july", 7), ("august", 8), ("september", 9))
    if (year, number) < (2026, 9)
]
TODAY = date(2026, 12, 5)
MONTHS = [date(2024 + (11 + m) // 12, (11 + m) % 12 + 1, 1) for m in range(24)]  # 2024-12..


def create(cursor) -> None:
    """The schema ``marts`` with every table of the contract, empty, and the run ledger."""
    cursor.execute("create schema if not exists marts")
    for name, columns in TABLES.items():
        cursor.execute(f"create table marts.{name} ({columns})")
    cursor.execute(ledger.DDL)


def insert(cursor, table: str, rows: list[dict]) -> None:
    if rows:
        names = list(rows[0])
        execute_values(
            cursor,
            f"insert into marts.{table} ({', '.join(names)}) values %s",
            [[row[name] for name in names] for row in rows],
        )


def record_runs(cursor) -> None:
    """A run that published 12 minutes ago, then a newer one that failed."""
    cursor.execute(
        "insert into elt.runs (started_at, finished_at, mode, status, published, "
        "published_load_id) values (now() - interval '20 minutes', now() - interval "
        "'12 minutes', 'incremental', 'ok', true, "
        "extract(epoch from now() - interval '19 minutes')::text), "
        "(now() - interval '5 minutes', now() - interval '4 minutes', 'incremental', "
        "'failed', false, null)"
    )


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def sample() -> dict[str, list[dict]]:
    """Rows for every table the report reads, the same at every call."""
    rng = random.Random(42)
    rows: dict[str, list[dict]] = {name: [] for name in TABLES}
    network = {}
    for campus_id, name, zone, size in CAMPUSES:
        rows["campuses"].append(
            {"campus_id": campus_id, "name": name, "time_zone": zone, "city": name}
        )
        if not size:
            continue
        monthly(rows, rng, campus_id, size)
        students(rows, rng, campus_id, size)
        projects(rows, rng, campus_id, size, network)
        cohorts(rows, rng, campus_id, size)
        heatmap(rows, rng, campus_id, size)
        coalitions(rows, rng, campus_id, size)
    for (project_id, project_name, milestone), counts in network.items():
        rows["project_stats"].append(project_row(project_id, project_name, None, milestone, counts))
    return rows


def monthly(rows, rng, campus_id, size) -> None:
    for index, month in enumerate(MONTHS):
        in_scope = round(size * (0.7 + 0.3 * index / 23) + rng.randint(-15, 15))
        share = 0.18 if month.month in (10, 11) else 0.01  # the cohorts arrive after the pools
        admissions = round(size * share * rng.uniform(0.7, 1.3))
        rows["campus_monthly"].append({
            "campus_id": campus_id, "month": month, "students_in_scope": in_scope,
            "admissions": admissions, "blackholes": round(in_scope * rng.uniform(0.005, 0.03)),
            "alumni": rng.randint(0, 6), "average_level": round(rng.uniform(4, 6), 2),
            "students_seen_on_campus": round(in_scope * 0.6),
            "logtime_seconds": in_scope * 60 * 3600,
        })  # fmt: skip


def students(rows, rng, campus_id, size) -> None:
    for number in range(size):
        level = min(21.0, max(0.0, rng.gammavariate(2.2, 2.4)))
        rows["student_progress"].append({
            "user_id": campus_id * 100_000 + number, "login": f"s{campus_id}x{number}",
            "campus_id": campus_id, "pool_month": "september", "pool_year": "2025",
            "level": round(level, 2), "grade": "Learner" if level < 10 else "Member",
            "projects_validated": int(level * 2),
        })  # fmt: skip


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def project_row(project_id, project_name, campus_id, milestone, counts) -> dict:
    first_finished, first_validated, finished, validated = counts
    return {
        "project_id": project_id, "project_name": project_name, "campus_id": campus_id,
        "milestone": milestone, "registrations": finished + 10, "in_progress": 10,
        "finished": finished, "validated": validated,
        "first_attempts_finished": first_finished, "first_attempts_validated": first_validated,
        "first_try_pass_rate": share(first_validated, first_finished),
        "students_finished": finished, "students_validated": validated,
        "eventual_pass_rate": share(validated, finished),
        "average_final_mark": 88.5, "median_final_mark": 100,
        "median_days_to_validation": 21, "retries_per_student": 0.4,
    }  # fmt: skip


def projects(rows, rng, campus_id, size, network) -> None:
    for project_id, project_name, milestone in MILESTONE_PROJECTS:
        finished = round(size * 0.9 ** (milestone * 1.5) * rng.uniform(0.5, 0.7))
        first_finished = finished
        first_validated = round(first_finished * rng.uniform(0.35, 0.8))
        validated = min(finished, round(first_validated + (finished - first_validated) * 0.7))
        if campus_id == 26 and milestone == 6:  # nobody at Tokyo has reached it yet
            first_finished = first_validated = finished = validated = 0
        counts = (first_finished, first_validated, finished, validated)
        rows["project_stats"].append(
            project_row(project_id, project_name, campus_id, milestone, counts)
        )
        key = (project_id, project_name, milestone)
        network[key] = tuple(
            a + b for a, b in zip(network.get(key, (0, 0, 0, 0)), counts, strict=True)
        )


def cohorts(rows, rng, campus_id, size) -> None:
    for year, pool_month, number in POOLS:
        start = date(year, number + 2, 1)  # the cursus begins two months after the pool
        cohort = round(size * 0.12 * rng.uniform(0.8, 1.2))
        pace = rng.uniform(0.85, 1.15)
        for months in range(months_between(start, TODAY) + 1):
            row = {
                "campus_id": campus_id, "pool_year": year, "pool_month": pool_month,
                "cohort_start": start, "months_since_start": months, "students": cohort,
                "still_in_scope": round(cohort * (0.55 + 0.45 * math.exp(-months / 14))),
                "median_level": round(min(13.0, 11.5 * (1 - math.exp(-months * pace / 16))), 2),
            }  # fmt: skip
            for n in range(7):
                row[f"milestone_{n}_share"] = round(
                    0.95 * 0.88**n / (1 + math.exp(-(months * pace - 3.2 * n - 1.5) / 1.6)), 4
                )
            rows["cohort_progress"].append(row)


def heatmap(rows, rng, campus_id, size) -> None:
    for weekday in range(1, 8):
        for hour in range(24):
            day = 1.0 if weekday <= 5 else 0.55
            curve = math.exp(-(((hour - 15) / 4.5) ** 2)) + 0.05 * (hour >= 22 or hour <= 2)
            students = size * 0.22 * day * curve * rng.uniform(0.9, 1.1)
            rows["campus_logtime_heatmap"].append({
                "campus_id": campus_id, "weekday": weekday, "hour": hour,
                "seconds": round(students * 4 * 3600), "average_students": round(students, 2),
                "period_start": TODAY - timedelta(days=28),
                "period_end": TODAY - timedelta(days=1),
            })  # fmt: skip


def coalitions(rows, rng, campus_id, size) -> None:
    teams = COALITIONS[campus_id]
    scores = sorted((rng.randint(20_000, 180_000) for _ in teams), reverse=True)
    for rank, ((name, color), score) in enumerate(zip(teams, scores, strict=True), start=1):
        coalition_id = campus_id * 10 + rank
        members = size // len(teams) + rng.randint(-10, 10)
        rows["coalitions"].append({
            "coalition_id": coalition_id, "name": name, "slug": name.lower().replace(" ", "-"),
            "color": color, "score": score, "bloc_id": 500 + campus_id, "campus_id": campus_id,
            "cursus_id": 21,
        })  # fmt: skip
        rows["coalition_standings"].append({
            "coalition_id": coalition_id, "coalition_name": name, "bloc_id": 500 + campus_id,
            "campus_id": campus_id, "members": members, "members_with_score": members - 5,
            "total_score": score, "average_score": round(score / (members - 5), 2),
            "rank_in_bloc": rank, "api_score": score + rng.randint(-900, 900),
        })  # fmt: skip
        for index, month in enumerate(MONTHS[-12:]):
            total = round(score * (index + 1) / 12 * rng.uniform(0.9, 1.1))
            rows["coalition_standings_monthly"].append({
                "coalition_id": coalition_id, "month": month, "members": members,
                "total_score": total, "average_score": round(total / members, 2),
                "rank_in_bloc": rank,
            })  # fmt: skip


def fill(database, rows: dict[str, list[dict]] | None = None) -> None:
    """The contract's tables in ``database``, with ``rows`` (default: the sample), and two
    runs in the ledger."""
    rows = sample() if rows is None else rows
    with database.connect() as connection, connection.cursor() as cursor:
        create(cursor)
        for table, table_rows in rows.items():
            insert(cursor, table, table_rows)
        record_runs(cursor)
    connection.close()
