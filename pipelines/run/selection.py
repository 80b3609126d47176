"""Which part of the dbt project a watch tick builds: only what the raw data it is built from
changed, when the build schema is known to hold everything else.

After a publish, ``marts__build`` holds the marts published before the newest ones (see
``publish.py``). When that state came from a dbt build of this very project (not one scrubbed
by the privacy erasure afterwards, not one of other code) and passed its tests, every model
in it is what dbt would build from the raw data of that build's loads. A model none of whose
raw tables got a load since is therefore already right, and only the models downstream of the
raw tables loaded since need building: ``--select source:intra.<table>+`` for each, with their
tests and every test that reads one of them (dbt's eager indirect selection). The watch
keeps the chain of builds this holds for (``BuildChain``); anything that breaks it makes the
next two builds full ones.

Time passes without a load: the models that read the run's time (logtime of a session still
open, days left before a blackhole, the current month) carry the tag ``reads_run_time`` and are
in every selective build, with what reads them. A user whose ``anonymize_date`` passes is
erased in raw by the run (``privacy.py``): rows of earlier loads rewritten in place break the
chain, and their data leaves every mart in that tick's build, a build of everything (so
``stg_intra__users``, which also reads the run's time for them, needs no tag). When every row
the erasure rewrote came with a load of this chain's since (a user anonymized long ago,
loaded again), the selective build reads them as erased and the chain holds; the summaries
that name students (``NAMING_SUMMARIES``) are then built too, due or not. The history models
read it only for the versions they record, which come from loads. A tick that loads
nothing builds nothing: there the models that read the run's time keep the time of the last
build.

The summaries over every student (``SUMMARIES``) are most of a build's time at the network's
size (the heatmap alone about 25 s of a 36 s tick), and nobody reads them by the minute: a
selective build includes them only when the watch says they are due (``--summaries-every``).
Otherwise they are left out, and the publish keeps the published ones in place
(``publish.py``): the marts then hold summaries as of the last build that made them, which the
ledger's ``dbt.summaries`` says ("built", or "kept": some or all). Nothing reads them in the
project, and the incremental ones catch up on every load since their own last one when next
built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelines.config import RAW_SCHEMA
from pipelines.database import Database, existing_tables
from pipelines.intra.settings import LIVE_ENDPOINTS, REFERENCE_ENDPOINTS

# The raw tables the dbt project reads as data (its source `intra`, but dlt's `_dlt_loads`:
# every model stamps its rows with the newest load from there, and one reads the first
# load's time, so every load would select nearly every model; a model built later catches
# up on every load since its own stamp).
SOURCE_TABLES = tuple(REFERENCE_ENDPOINTS) + tuple(LIVE_ENDPOINTS)


def tables_loaded_since(database: Database, load_id: str) -> list[str]:
    """The source tables with a row from a load newer than ``load_id`` (an index scan each:
    the live tables' load ids are indexed, the others are small)."""
    with database.connect() as connection, connection.cursor() as cursor:
        present = existing_tables(cursor, RAW_SCHEMA, SOURCE_TABLES)
        changed = []
        for table in SOURCE_TABLES:
            if table not in present:
                continue
            cursor.execute(
                f"select exists (select 1 from {RAW_SCHEMA}.{table} where _dlt_load_id > %s)",
                (load_id,),
            )
            if cursor.fetchone()[0]:
                changed.append(table)
        return changed


# The tag of the models that read the run's time (``run_as_of``) where no raw table changes:
# logtime of open sessions, days left, the current month. Every selective build includes
# them and what reads them, so that each build gives what a build of everything would.
READS_RUN_TIME = "tag:reads_run_time+"
STAGING = "models/staging"  # dbt's path of the staging layer

# The analytics marts a selective build makes only when due (above); no model reads them.
SUMMARIES = (
    "campus_logtime_heatmap",
    "campus_monthly",
    "coalition_standings_monthly",
    "cohort_progress",
    "project_stats",
    "student_progress",
)
# Of those, the ones that hold a personal value (a login): a tick whose erasure rewrote rows
# builds them, due or not, so that none keeps an erased value; the others count students
# and keep nothing of one.
NAMING_SUMMARIES = ("student_progress",)


def kept_summaries(due: bool, erased: bool) -> tuple[str, ...]:
    """The summaries a selective build leaves as published: none when they are due; when
    the erasure rewrote rows, all but those that name a student."""
    if due:
        return ()
    return tuple(s for s in SUMMARIES if not (erased and s in NAMING_SUMMARIES))


def selection_flags(tables: list[str], kept: tuple[str, ...] = ()) -> list[str]:
    """dbt's selection of the nodes downstream of ``tables`` and of the models that read the
    run's time (tests included), but the staging views: a view holds no data, and the chain's
    parse created them (re-creating them cost about half a second a tick); their tests still
    run. Only views of staging: a view that reads the run's time has it written into its SQL
    (``int_locations__countable``), and staging's one such view, ``stg_intra__users``, only
    for the erasure, which makes the tick a build of everything. The ``kept`` models (of
    ``SUMMARIES``) and their tests are left out too."""
    return [
        *("--select", *(f"source:intra.{table}+" for table in tables), READS_RUN_TIME),
        *("--exclude", f"config.materialized:view,path:{STAGING}"),
        *kept,
    ]


@dataclass
class BuildChain:
    """The watch's consecutive publishes whose build schema a selective build may start from:
    each a clean dbt build of the same parse of the project. Holds their newest loads."""

    parse: int = -1  # the parse of the project the chain's builds used
    published_loads: list[str] = field(default_factory=list)

    def since(self, parse: int) -> str | None:
        """The load the build schema holds everything up to, when a selective build may
        start from it: two publishes of this chain (the schema holds the older one)."""
        if parse != self.parse or len(self.published_loads) < 2:
            return None
        return self.published_loads[-2]

    def record(
        self, parse_before: int, parse_after: int, published_load: str | None, scrubbed: bool
    ) -> None:
        """After a build: one that published extends the chain. The chain starts again from
        it when the erasure scrubbed its predecessor (the build schema now), and from none
        when it did not publish (its schema is dropped) or the project was parsed anew
        during it (it may mix the old parse and the new)."""
        if published_load is None or parse_after != parse_before:
            self.parse, self.published_loads = parse_after, []
            return
        if parse_after != self.parse or scrubbed:
            self.parse, self.published_loads = parse_after, []
        self.published_loads = [*self.published_loads[-1:], published_load]
