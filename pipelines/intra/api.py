"""Authenticated, rate-limited, keyset-paginated access to the 42 API.

The run builds one ``IntraApi`` and hands it to the source, because the API's limits belong
to the application: every resource shares its session, token and rate limiter.

A listing whose pages keep timing out (or answering 504) after dlt's retries is read on at a
smaller page size (see ``paginator.smaller_page_size``), for the rest of that resource's run:
``page_sizes`` records the size each such resource was cut to, for the run's report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import orjson
from dlt.sources.helpers.rest_client import RESTClient
from requests import Response

from pipelines.intra.auth import IntraOAuth2
from pipelines.intra.paginator import IdKeysetPaginator, is_heavy_page_failure
from pipelines.intra.rate_limit import RateLimiter
from pipelines.intra.transport import CallStats, ServerClock, build_session

progress_log = logging.getLogger("intra.progress")
log = logging.getLogger(__name__)


def clean_keys(record: dict) -> dict:
    """``{"alumni?": x}`` -> ``{"is_alumni": x}``: dlt would name that column ``alumnix``."""
    if not any(key.endswith("?") for key in record):
        return record
    return {
        (f"is_{key[:-1]}" if key.endswith("?") else key): value for key, value in record.items()
    }


class JsonArrayClient(RESTClient):
    """dlt's RESTClient, reading each page (a JSON array) with orjson.

    Written by hand because RESTClient parses through ``response.json()`` (simplejson here)
    and a JSONPath selector: together a tenth of a backfill's CPU for what one ``orjson.loads``
    does. A response that is not an array falls back to dlt's own handling."""

    def extract_response(self, response: Response, data_selector) -> list:
        data = orjson.loads(response.content)
        if isinstance(data, list):
            return data
        return super().extract_response(response, data_selector)


class IntraApi:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        requests_per_second: float,
        requests_per_hour: int,
        page_size: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.stats = CallStats()
        self.limiter = RateLimiter(requests_per_second, requests_per_hour)
        self.clock = ServerClock()
        session = build_session(self.limiter, self.stats, self.clock)
        self.auth = IntraOAuth2(
            access_token_url=f"{self.base_url}/oauth/token",
            client_id=client_id,
            client_secret=client_secret,
            access_token_request_data={"scope": "public"},
            default_token_expiration=7200,
            session=session,
        )
        self.page_sizes: dict[str, int] = {}  # resource -> the smaller page size it was cut to
        self.client = JsonArrayClient(
            base_url=f"{self.base_url}/v2", auth=self.auth, session=session, data_selector="$"
        )

    def url_path(self, path: str) -> str:
        """The request path of an endpoint, as the call statistics key it."""
        return f"/v2/{path.lstrip('/')}"

    def obtain_token(self) -> None:
        """Ask for an access token now (the first request would otherwise ask for one)."""
        with self.auth._lock:
            self.auth.obtain_token()

    def server_now(self) -> datetime:
        """The API server's current time (a token call teaches it, if nothing has yet)."""
        if self.clock.offset is None:
            self.obtain_token()
        return self.clock.now()

    def page_size_of(self, resource: str) -> int:
        """The page size a resource reads at: the configured one unless it had to be cut."""
        return self.page_sizes.get(resource, self.page_size)

    def pages(
        self, resource: str, path: str, params: dict | None = None, after_id: int | None = None
    ) -> Iterator[list[dict]]:
        """Every record of a listing (with an id above ``after_id``), a page at a time.

        A page that still times out after dlt's retries is asked for again at a smaller size
        (the paginator resumes after the last id read), down to ``MIN_PAGE_SIZE``."""
        paginator = IdKeysetPaginator(self.page_size_of(resource), after_id=after_id)
        params = dict(params or {})
        pages = self.client.paginate(path, params=params, paginator=paginator)
        while True:
            try:
                page = next(pages)
            except StopIteration:
                return
            except Exception as error:
                if not (is_heavy_page_failure(error) and paginator.shrink()):
                    raise
                self.page_sizes[resource] = paginator.page_size
                log.warning(
                    "%s: a page timed out after retries (%s); reading on %d records a page",
                    resource,
                    type(error).__name__,
                    paginator.page_size,
                )
                pages = self.client.paginate(path, params=params, paginator=paginator)
                continue
            progress_log.info(
                "%s: page %d/%s",
                resource,
                paginator.pages,
                paginator.expected_pages,
                extra={
                    "resource": resource,
                    "page": paginator.pages,
                    "pages": paginator.expected_pages,
                    "records": paginator.records,
                    "total": paginator.expected_total,
                    "rate": self.limiter.calls_per_second(),
                },
            )
            yield [clean_keys(record) for record in page]
