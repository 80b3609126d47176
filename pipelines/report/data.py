"""What the report reads: the marts its charts need, each aggregated in SQL to what one chart
draws, per campus and for the whole network (the rows whose ``campus`` is ``all``).

Network-wide rows come from ``grouping sets``, so each chart's "All campuses" view and its
campus views are one query and add up the same way. ``MARTS`` lists every table and column
read here: the report checks them first, so a mart not published yet is named, not a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pipelines.config import MARTS_SCHEMA

# The columns of each mart the queries below read.
MARTS = {
    "campuses": ("campus_id", "name", "time_zone"),
    "coalitions": ("coalition_id", "color"),
    "campus_monthly": (
        "campus_id", "month", "students_in_scope", "admissions", "blackholes",
    ),
    "student_progress": ("campus_id", "level"),
    "project_stats": (
        "campus_id", "milestone", "project_name", "first_try_pass_rate",
        "eventual_pass_rate", "first_attempts_finished", "first_attempts_validated",
        "students_finished", "students_validated",
    ),
    "cohort_progress": (
        "campus_id", "pool_year", "pool_month", "cohort_start", "months_since_start",
        "students", "still_in_scope", "median_level",
        *(f"milestone_{n}_share" for n in range(7)),
    ),
    "campus_logtime_heatmap": (
        "campus_id", "weekday", "hour", "seconds", "average_students", "period_start",
        "period_end",
    ),
    "coalition_standings": (
        "coalition_id", "coalition_name", "bloc_id", "campus_id", "members", "total_score",
        "average_score", "rank_in_bloc", "api_score",
    ),
    "coalition_standings_monthly": ("coalition_id", "month", "total_score"),
}  # fmt: skip

MILESTONES = range(7)
# Cohorts drawn per campus: the newest ones, so that the lines stay readable.
RECENT_COHORTS = 6
# Coalitions in the network-wide standings: the largest totals (a campus shows all of its own).
NETWORK_COALITIONS = 12

# The campus of a row: its id as text, or 'all' for the network-wide rows of grouping sets.
CAMPUS = "case when grouping(campus_id) = 1 then 'all' else campus_id::text end as campus"

MONTHLY = f"""
select {CAMPUS}, to_char(month, 'YYYY-MM-DD') as month,
    sum(students_in_scope)::bigint as students_in_scope,
    sum(admissions)::bigint as admissions,
    sum(blackholes)::bigint as blackholes
from {MARTS_SCHEMA}.campus_monthly
group by grouping sets ((campus_id, month), (month))
order by campus, month
"""

LEVELS = f"""
select {CAMPUS}, floor(level)::int as level, count(*) as students
from {MARTS_SCHEMA}.student_progress
where level is not null
group by grouping sets ((campus_id, floor(level)), (floor(level)))
order by campus, level
"""

# The network's rows are the ones project_stats computes itself (campus_id null).
PASS_RATES = f"""
select coalesce(campus_id::text, 'all') as campus, milestone, project_name,
    first_try_pass_rate::float8 as first_try_pass_rate,
    eventual_pass_rate::float8 as eventual_pass_rate,
    first_attempts_finished, first_attempts_validated, students_finished, students_validated
from {MARTS_SCHEMA}.project_stats
where milestone is not null
order by campus, milestone, project_name
"""

# Campuses combine by their local weekday and hour: students present add up.
HEATMAP = f"""
select {CAMPUS}, weekday, hour,
    round(sum(seconds) / 3600.0, 1)::float8 as hours,
    round(sum(average_students)::numeric, 2)::float8 as average_students,
    to_char(min(period_start), 'YYYY-MM-DD') as period_start,
    to_char(max(period_end), 'YYYY-MM-DD') as period_end
from {MARTS_SCHEMA}.campus_logtime_heatmap
group by grouping sets ((campus_id, weekday, hour), (weekday, hour))
order by campus, weekday, hour
"""


def weighted(value: str, digits: int) -> str:
    """``value`` weighted by the cohort's size, rounded (the page draws no more digits)."""
    return f"round((sum({value} * students) / nullif(sum(students), 0))::numeric, {digits})::float8"


# A share weighted by the cohort's size is the share of the cohorts combined; for one campus
# it is the campus's own. Medians do not combine: the network's median level is the campus
# medians weighted by cohort size, an approximation the page says it is.
SHARES = ",\n        ".join(
    f"{weighted(f'milestone_{n}_share', 4)} as milestone_{n}" for n in MILESTONES
)
COHORTS = f"""
with combined as (
    select {CAMPUS}, pool_year, pool_month, months_since_start,
        min(cohort_start) as cohort_start,
        sum(students)::bigint as students,
        round(sum(still_in_scope)::numeric / nullif(sum(students), 0), 4)::float8
            as still_in_scope,
        {weighted("median_level", 2)} as median_level,
        {SHARES}
    from {MARTS_SCHEMA}.cohort_progress
    group by grouping sets (
        (campus_id, pool_year, pool_month, months_since_start),
        (pool_year, pool_month, months_since_start)
    )
),
cohorts as (
    select campus, pool_year, pool_month,
        row_number() over (
            partition by campus order by min(cohort_start) desc, pool_year desc, pool_month
        ) as newness
    from combined
    group by campus, pool_year, pool_month
)
select combined.*
from combined
inner join cohorts using (campus, pool_year, pool_month)
where cohorts.newness <= {RECENT_COHORTS}
order by campus, cohort_start, pool_year, pool_month, months_since_start
"""

STANDINGS = f"""
select s.campus_id::text as campus, campuses.name as campus_name, s.coalition_id,
    s.coalition_name, coalitions.color, s.bloc_id, s.members, s.total_score,
    s.average_score::float8 as average_score, s.rank_in_bloc, s.api_score,
    rank() over (order by s.total_score desc nulls last) <= {NETWORK_COALITIONS} as network_top
from {MARTS_SCHEMA}.coalition_standings as s
left join {MARTS_SCHEMA}.coalitions as coalitions on coalitions.coalition_id = s.coalition_id
left join {MARTS_SCHEMA}.campuses as campuses on campuses.campus_id = s.campus_id
order by s.total_score desc nulls last, s.coalition_name
"""

STANDINGS_MONTHLY = f"""
select coalition_id, to_char(month, 'YYYY-MM-DD') as month, total_score
from {MARTS_SCHEMA}.coalition_standings_monthly
order by coalition_id, month
"""

CAMPUSES = f"select campus_id, name, time_zone from {MARTS_SCHEMA}.campuses order by name"


@dataclass(frozen=True)
class Runs:
    """What the ledger says about publishing: the newest published run and the newest run."""

    published_at: datetime | None
    published_load_id: str | None
    as_of: datetime | None  # the API's time the published build judged the data at
    newest_id: int | None
    newest_status: str | None
    newest_pid: int | None
    newest_started_at: datetime | None

    def data_loaded_at(self) -> datetime | None:
        """When the newest data in the published marts was loaded: dlt's load ids are Unix
        times."""
        try:
            return datetime.fromtimestamp(float(self.published_load_id), UTC)
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class ReportData:
    """Every row the charts draw, as dicts keyed by column; ``campus`` is an id as text or
    ``all``."""

    campuses: list[dict]
    monthly: list[dict]
    levels: list[dict]
    pass_rates: list[dict]
    heatmap: list[dict]
    cohorts: list[dict]
    standings: list[dict]
    standings_monthly: list[dict]
    runs: Runs


def missing_marts(cursor) -> list[str]:
    """What the report needs and the database lacks: ``marts.<table>`` for a table, and
    ``marts.<table>.<column>`` for a column of one that exists."""
    cursor.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = %s and table_name = any(%s)",
        (MARTS_SCHEMA, list(MARTS)),
    )
    present: dict[str, set[str]] = {}
    for table, column in cursor.fetchall():
        present.setdefault(table, set()).add(column)
    missing = []
    for table, columns in MARTS.items():
        if table not in present:
            missing.append(f"{MARTS_SCHEMA}.{table}")
        else:
            missing += [f"{MARTS_SCHEMA}.{table}.{c}" for c in columns if c not in present[table]]
    return missing


def rows(cursor, sql: str) -> list[dict]:
    cursor.execute(sql)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_runs(cursor) -> Runs:
    """The newest published run and the newest run from ``elt.runs``; all None when the
    ledger does not exist (marts made by something else than a run)."""
    cursor.execute("select to_regclass('elt.runs')")
    if cursor.fetchone()[0] is None:
        return Runs(None, None, None, None, None, None, None)
    cursor.execute(
        "select finished_at, published_load_id, as_of from elt.runs where published "
        "order by run_id desc limit 1"
    )
    published = cursor.fetchone() or (None, None, None)
    cursor.execute(
        "select run_id, status, pid, started_at from elt.runs order by run_id desc limit 1"
    )
    newest = cursor.fetchone() or (None, None, None, None)
    return Runs(*published, *newest)


def read(cursor) -> ReportData:
    """Everything the page draws, read in the caller's transaction (one snapshot)."""
    return ReportData(
        campuses=rows(cursor, CAMPUSES),
        monthly=rows(cursor, MONTHLY),
        levels=rows(cursor, LEVELS),
        pass_rates=rows(cursor, PASS_RATES),
        heatmap=rows(cursor, HEATMAP),
        cohorts=rows(cursor, COHORTS),
        standings=rows(cursor, STANDINGS),
        standings_monthly=rows(cursor, STANDINGS_MONTHLY),
        runs=read_runs(cursor),
    )
