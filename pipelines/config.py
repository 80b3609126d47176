"""What the run and the commands around it (status, docs, dbt by hand, the CLI) agree on: exit
codes, run statuses, the pipeline's and schemas' names, the marts, and the ``sources.intra``
settings they read. One place, so that a reading command never imports the run itself."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from functools import cache
from pathlib import Path

import dlt
import yaml

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
    STOPPED = "stopped"  # a watch tick that SIGTERM ended early; what it loaded is published


PIPELINE_NAME = "intra"
RAW_SCHEMA = "raw"
MARTS_SCHEMA = "marts"
# By-id resources last: they complete, into the live tables, what the live resources implied.
RESOURCES = {**REFERENCE_ENDPOINTS, **LIVE_ENDPOINTS, **BY_ID_ENDPOINTS}
DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


@cache
def dbt_project_var(name: str):
    """A var of dbt_project.yml: the lists dbt and the code share live there, once."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return project["vars"][name]


# Every published mart (dbt's var published_marts), the event feed (a view over the event
# log, schema history, which every build appends to after the marts' tests), then the
# analytics marts (dbt's var analytics_marts).
MARTS = (*dbt_project_var("published_marts"), "events", *dbt_project_var("analytics_marts"))


def source_setting(key: str, default):
    """A ``sources.intra`` setting from dlt's config, or ``default`` when unset or empty."""
    value = dlt.config.get(f"sources.intra.{key}")
    return default if value in (None, "") else value
