"""Keyset pagination by id for the 42 API's page-numbered listings.

The API pages with ``page[number]``, but page numbers are positions in a result set that can
change while we read it: a record deleted from page 1, or updated out of an ``updated_at``
window, shifts every later record one place up, and the record at the boundary of the next
page is skipped without any error. That is how a sync silently loses rows.

So every request is a *first* page (``page[size]=100``, ``sort=id``) of "ids after the last id
I have", expressed with the API's inclusive ``range[id]=<last+1>,<max>``. Records that move or
vanish cannot shift anything we have not read yet. The cost is the same as page numbers: the
response's ``X-Total`` (records left to read, this page included) tells when this page is the
last one, so no request is spent on an empty page.

dlt ships page-number, offset, cursor and link paginators, none of which can express "after
this id" as a range filter; ``BasePaginator`` is dlt's extension point for this.

A page can also be too heavy to render before the API's gateway gives up (a page of 100
projects, with their campuses and sessions nested, weighs megabytes): after dlt's retries it
still times out or answers 504. ``smaller_page_size`` says how far to shrink the page for the
next attempt; because every request is a first page after the last id read, a scan goes on at
the new size from exactly where it stopped.
"""

from __future__ import annotations

import math
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import ConnectionError as RequestsConnectionError
from requests import HTTPError, ReadTimeout, Request, Response
from urllib3.exceptions import ReadTimeoutError

# Upper bound of the id range: the largest 32-bit integer. The API's id columns are int4, and
# older Rails versions raise when a query binds a value beyond a column's range: a larger
# bound makes every page after the first a 500.
MAX_ID = 2**31 - 1
# The smallest page a heavy listing is cut to. Each halving from 100 costs one round of dlt's
# retries, so the floor bounds the time lost (100, 50, 25, 12, 10: four rounds at most) and
# the calls (ten times the minimum at worst); a page of 10 records that still times out means
# the API is down, not that the page is heavy, and the resource should fail.
MIN_PAGE_SIZE = 10


def smaller_page_size(size: int, floor: int = MIN_PAGE_SIZE) -> int | None:
    """Half of ``size``, but not below ``floor``; None when ``size`` is at the floor already."""
    if size <= floor:
        return None
    return max(floor, size // 2)


def is_heavy_page_failure(error: BaseException) -> bool:
    """Whether a request's final failure is what a page too heavy to render in time gets: a
    read timeout (requests raises a ``ConnectionError`` when it strikes mid-body) or a 504
    from the gateway. A connection refused or a connect timeout is not: a smaller page would
    not help."""
    if isinstance(error, ReadTimeout):
        return True
    if isinstance(error, HTTPError):
        return error.response is not None and error.response.status_code == 504
    if isinstance(error, RequestsConnectionError):
        return any(isinstance(arg, ReadTimeoutError) for arg in error.args)
    return False


class MissingTotal(Exception):
    """A listing answered without ``X-Total``: we cannot tell whether it is complete."""


class KeysetNotHonoured(Exception):
    """The API ignored ``range[id]`` (it would make us loop over the same page forever)."""


class IdKeysetPaginator(BasePaginator):
    """Ask for ``range[id]=<last id + 1>,MAX_ID`` until ``X-Total`` says nothing is left."""

    def __init__(self, page_size: int = 100, after_id: int | None = None) -> None:
        super().__init__()
        self.page_size = page_size
        self.last_id: int | None = after_id
        self.pages = 0
        self.records = 0
        self.expected_total: int | None = None  # X-Total of the first page
        self.left: int | None = None  # records the last X-Total said were left after its page

    @property
    def expected_pages(self) -> int | None:
        """Pages read plus those the rest needs at the current size (which may have shrunk)."""
        if self.left is None:
            return None
        return max(1, self.pages + math.ceil(self.left / self.page_size))

    def init_request(self, request: Request) -> None:
        request.params = dict(request.params or {})
        for legacy in ("page", "per_page", "page[number]"):
            request.params.pop(legacy, None)
        request.params["sort"] = "id"
        request.params["page[size]"] = self.page_size
        self.update_request(request)  # a resumed scan starts after its last id

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        header = response.headers.get("X-Total")
        if header is None:
            raise MissingTotal(f"no X-Total header on {response.request.url}")
        remaining = int(header)
        data = data if data is not None else []
        self._clean(data)
        self.pages += 1
        self.records += len(data)
        if self.expected_total is None:
            self.expected_total = remaining
        self.left = max(0, remaining - len(data))
        if remaining <= len(data):
            self._has_next_page = False
            return
        if not data:
            raise KeysetNotHonoured(
                f"{response.request.url} says {remaining} records are left but returned none "
                f"after id {self.last_id}"
            )
        self.last_id = int(data[-1]["id"])

    def _clean(self, data: list[Any]) -> None:
        """Drop records this scan already has and put the page in id order, in place (the
        client yields this very list). The API sometimes repeats records across pages and
        orders them loosely; a repeat must neither reach the table nor count as progress."""
        seen: set[int] = set()
        kept = []
        for record in data:
            record_id = int(record["id"])
            if record_id in seen or (self.last_id is not None and record_id <= self.last_id):
                continue
            seen.add(record_id)
            kept.append(record)
        kept.sort(key=lambda record: int(record["id"]))
        data[:] = kept

    def shrink(self) -> bool:
        """Use a smaller page from the next request on; False when already at the floor."""
        smaller = smaller_page_size(self.page_size)
        if smaller is None:
            return False
        self.page_size = smaller
        return True

    def update_request(self, request: Request) -> None:
        if self.last_id is not None:
            request.params["range[id]"] = f"{self.last_id + 1},{MAX_ID}"
