"""The run's first step: settings parsed, the one API client built and handed to the source,
and the API checked (``preflight``), before anything is loaded; a problem is named with the
setting to fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import requests
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.extract import DltSource

from pipelines.config import DEFAULT_BASE_URL, DEFAULT_CURSUS_ID, ExitCode, source_setting
from pipelines.intra import intra, intra_api
from pipelines.intra.api import IntraApi
from pipelines.intra.auth import InvalidCredentials
from pipelines.intra.incremental import SyncReport
from pipelines.intra.overlap import ShortOverlap
from pipelines.intra.rate_limit import QuotaExhausted
from pipelines.run.errors import describe_error
from pipelines.run.outcome import Outcome
from pipelines.run.output import say
from pipelines.run.preflight import (
    ApiUnreachable,
    ConfigError,
    check_api,
    parse_base_url,
    parse_cursus_id,
)


@dataclass
class Connection:
    """The checked API client, the source that reads through it, and the sync reports its
    resources write for the run's report."""

    api: IntraApi
    source: DltSource
    cursus_id: int
    reports: dict[str, SyncReport]

    def renewed(
        self, unmatched_every: timedelta | None = None, short_overlap: ShortOverlap | None = None
    ) -> Connection:
        """The same checked client (its token, its rate limiter) with a fresh source and
        fresh reports: one tick of ``intra-elt watch`` after another, no token or check call.
        dlt resources are generators that one extraction consumes, hence a new source."""
        self.api.stats.reset()
        self.api.page_sizes.clear()  # a page size cut for timeouts is cut for one run only
        reports: dict[str, SyncReport] = {}
        source = intra(
            self.api,
            reports,
            cursus_id=self.cursus_id,
            full=False,
            unmatched_every=unmatched_every,
            short_overlap=short_overlap,
        )
        return Connection(self.api, source, self.cursus_id, reports)


def connect_api(full: bool, outcome: Outcome) -> Connection | None:
    """The source and its API client, or None with the problem recorded in ``outcome``."""
    reports: dict[str, SyncReport] = {}
    try:
        base_url = parse_base_url(source_setting("base_url", DEFAULT_BASE_URL))
        cursus_id = parse_cursus_id(source_setting("cursus_id", DEFAULT_CURSUS_ID))
        api = intra_api(base_url=base_url)
        source = intra(api, reports, cursus_id=cursus_id, full=full)
    except ConfigFieldMissingException as missing:
        fields = ", ".join(f"sources.intra.{f}" for f in missing.fields)
        envs = ", ".join(f"SOURCES__INTRA__{f.upper()}" for f in missing.fields)
        outcome.problem(
            ExitCode.CONFIG,
            f"missing setting(s) {fields}: put them in .dlt/secrets.toml or set {envs}",
        )
        return None
    except ConfigValueCannotBeCoercedException as bad:
        key = bad.field_name
        outcome.problem(
            ExitCode.CONFIG,
            f"setting sources.intra.{key} = {bad.field_value!r} is not a valid {bad.hint}: "
            f"fix it in .dlt/config.toml or SOURCES__INTRA__{key.upper()}",
        )
        return None
    except (ConfigError, ValueError) as error:  # ValueError: the API client's own checks
        outcome.problem(ExitCode.CONFIG, str(error))
        return None
    outcome.api = api
    outcome.check_path = api.url_path(f"cursus/{cursus_id}")
    try:
        check_api(api, cursus_id)
    except (ConfigError, InvalidCredentials) as error:
        outcome.problem(ExitCode.CONFIG, str(error))
    except QuotaExhausted as spent:
        outcome.problem(ExitCode.QUOTA, str(spent))
    except (ApiUnreachable, requests.RequestException) as error:
        outcome.problem(ExitCode.FAILED, f"the API is not answering: {describe_error(error)}")
    if outcome.problems:
        say("nothing was extracted and dbt does not run: the marts stay as they were")
        return None
    return Connection(api, source, cursus_id, reports)
