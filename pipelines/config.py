"""What the run and the commands around it (status, docs, dbt by hand, the CLI) agree on: exit
codes, run statuses, the pipeline's and schemas' names, the marts, and the ``sources.intra``
settings they read. One place, so that a reading command never imports the run itself."""

from __future__ import annotations

from enum import IntEnum, StrEnum

import dlt

from pipelines.intra.settings import BY_ID_ENDPOINTS, LIVE_ENDPOINTS, REFERENCE_ENDPOINTS
from pipelines.intra.settings import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from pipelines.intra.settings import DEFAULT_CURSUS_ID as DEFAULT_CURSUS_ID


class ExitCode(IntEnum):
    """What ``intra-elt run`` / ``full`` exit with; cron and monitoring read them."""

    OK = 0
    FAILED = 1
    CONFIG = 2  # configuration or credentials to fix
    QUOTA = 3  # stopped early: the hourly API quota is spent, the next run resumes
    BUSY = 75  # another run holds the lock


class RunStatus(StrEnum):
    """How a run ended, as the ledger ``elt.runs.status`` stores it."""

    OK = "ok"
    FAILED = "failed"
    CONFIG = "config"
    QUOTA = "quota"


PIPELINE_NAME = "intra"
RAW_SCHEMA = "raw"
MARTS_SCHEMA = "marts"
# By-id resources last: they complete, into the live tables, what the live resources implied.
RESOURCES = {**REFERENCE_ENDPOINTS, **LIVE_ENDPOINTS, **BY_ID_ENDPOINTS}
MARTS = (
    "cursus",
    "campuses",
    "projects",
    "campus_projects",
    "project_sessions",
    "coalitions",
    "achievements",
    "campus_achievements",
    "users",
    "cursus_users",
    "projects_users",
    "achievements_users",
    "coalitions_users",
    # the event feed: a view over the event log (schema history), appended by every build
    "events",
)


def source_setting(key: str, default):
    """A ``sources.intra`` setting from dlt's config, or ``default`` when unset or empty."""
    value = dlt.config.get(f"sources.intra.{key}")
    return default if value in (None, "") else value
