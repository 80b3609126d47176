"""The ``intra`` dlt source: the 42 intranet API v2, one resource per endpoint.

Configuration follows dlt's conventions (``.dlt/config.toml``, ``.dlt/secrets.toml`` or env
vars): ``sources.intra.client_id`` / ``client_secret`` (``SOURCES__INTRA__CLIENT_ID`` ...),
``sources.intra.base_url`` (default https://api.intra.42.fr), ``sources.intra.cursus_id``
(default 21) and the starting rate-limit assumption ``requests_per_second`` /
``requests_per_hour`` (the client then learns the real limits from the API's headers).

Reference resources are full snapshots (``write_disposition="replace"``). dlt only replaces a
table once its resource was extracted completely, and with the ``insert-from-staging``
strategy (set in ``.dlt/config.toml``) the replacement is one transaction: a run cut short
never empties or half-replaces a table.
"""

from __future__ import annotations

from collections.abc import Iterator

import dlt
from dlt.extract.resource import DltResource

from pipelines.intra.api import IntraApi
from pipelines.intra.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_CURSUS_ID,
    MIN_SNAPSHOT_RATIO,
    PAGE_SIZE,
    REFERENCE_ENDPOINTS,
    REQUESTS_PER_HOUR,
    REQUESTS_PER_SECOND,
    Endpoint,
    column_hints,
)


class SnapshotTooSmall(Exception):
    """A full snapshot shrank so much that replacing the table would likely lose data."""


@dlt.source(name="intra", max_table_nesting=0)
def intra(
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    cursus_id: int = DEFAULT_CURSUS_ID,
    requests_per_second: float = REQUESTS_PER_SECOND,
    requests_per_hour: int = REQUESTS_PER_HOUR,
    min_snapshot_ratio: float = MIN_SNAPSHOT_RATIO,
    page_size: int = PAGE_SIZE,
) -> list[DltResource]:
    """The 42 API's reference data for one cursus.

    Args:
        client_id: UID of the 42 API application (``u-s4t2ud-...``).
        client_secret: its secret (``s-s4t2ud-...``); secrets expire and must be rotated.
        base_url: API root, without ``/v2``.
        cursus_id: the cursus whose projects and coalition blocs are extracted.
        requests_per_second: starting assumption for the per-application limit.
        requests_per_hour: starting assumption for the hourly limit.
        min_snapshot_ratio: refuse a snapshot smaller than this share of the previous one
            (set ``SOURCES__INTRA__MIN_SNAPSHOT_RATIO=0`` for one run to accept a real shrink).
        page_size: records per request; 100 is the API's maximum and costs the fewest calls.
    """
    if not 1 <= page_size <= PAGE_SIZE:
        raise ValueError(
            f"sources.intra.page_size must be between 1 and {PAGE_SIZE}, not {page_size}"
        )
    api = IntraApi.shared(
        base_url,
        client_id,
        client_secret,
        requests_per_second=requests_per_second,
        requests_per_hour=requests_per_hour,
        page_size=page_size,
    )
    return [
        snapshot_resource(api, name, endpoint, cursus_id, min_snapshot_ratio)
        for name, endpoint in REFERENCE_ENDPOINTS.items()
    ]


def endpoint_request(endpoint: Endpoint, cursus_id: int) -> tuple[str, dict[str, str]]:
    """The path and query parameters of an endpoint for a cursus."""
    path = endpoint.path.format(cursus_id=cursus_id)
    params = {key: value.format(cursus_id=cursus_id) for key, value in endpoint.params.items()}
    return path, params


def snapshot_resource(
    api: IntraApi, name: str, endpoint: Endpoint, cursus_id: int, min_ratio: float
) -> DltResource:
    """A resource that replaces its table with a complete, sane snapshot of an endpoint."""
    path, params = endpoint_request(endpoint, cursus_id)

    def snapshot() -> Iterator[list[dict]]:
        # Source-level state: dlt resets a resource's own state on every "replace" load.
        sizes = dlt.current.source_state().setdefault("snapshot_rows", {})
        previous = sizes.get(name)
        rows = 0
        for page in api.pages(name, path, params):
            rows += len(page)
            yield page
        if previous and rows < previous * min_ratio:
            raise SnapshotTooSmall(
                f"{name}: the API returned {rows} records where the last snapshot had {previous}; "
                f"refusing to replace the table (a shrink below {min_ratio:.0%} is more likely an "
                "API fault than real deletions). If the shrink is real, run once with "
                "SOURCES__INTRA__MIN_SNAPSHOT_RATIO=0."
            )
        sizes[name] = rows

    return dlt.resource(
        snapshot,
        name=name,
        write_disposition="replace",
        primary_key="id",
        columns=column_hints(endpoint.columns),
    )
