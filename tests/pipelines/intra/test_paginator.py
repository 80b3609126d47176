"""Keyset pagination: the requests it builds, when it stops, and how far a heavy page shrinks."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from requests import ConnectionError, ConnectTimeout, HTTPError, ReadTimeout, Request, Response
from urllib3.exceptions import ReadTimeoutError

from pipelines.intra.paginator import (
    MAX_ID,
    MIN_PAGE_SIZE,
    IdKeysetPaginator,
    KeysetNotHonoured,
    MissingTotal,
    is_heavy_page_failure,
    smaller_page_size,
)

REQUEST = Request("GET", "http://x/v2/things").prepare()


def response(total: int | None, status: int = 200) -> Response:
    r = Response()
    r.status_code = status
    if total is not None:
        r.headers["X-Total"] = str(total)
    r.request = REQUEST
    return r


def page(*ids: int) -> list[dict]:
    return [{"id": i} for i in ids]


def test_first_request_sorts_by_id_with_full_pages_and_no_page_number() -> None:
    request = Request(
        "GET", "http://x/v2/things", params={"page": 3, "per_page": 10, "filter[kind]": "a"}
    )
    paginator = IdKeysetPaginator(page_size=100)
    paginator.init_request(request)
    assert request.params == {"filter[kind]": "a", "sort": "id", "page[size]": 100}


def test_next_request_asks_for_ids_after_the_last_one() -> None:
    paginator = IdKeysetPaginator(page_size=2)
    request = Request("GET", "http://x")
    paginator.init_request(request)
    paginator.update_state(response(5), page(3, 7))
    paginator.update_request(request)
    assert paginator.has_next_page
    assert request.params["range[id]"] == f"8,{MAX_ID}"
    assert paginator.expected_pages == 3


def test_stops_on_the_last_page_without_an_extra_call() -> None:
    paginator = IdKeysetPaginator(page_size=2)
    paginator.update_state(response(4), page(1, 2))
    assert paginator.has_next_page
    paginator.update_state(
        response(2), page(3, 4)
    )  # X-Total counts what is left, this page included
    assert not paginator.has_next_page
    assert (paginator.pages, paginator.records, paginator.expected_total) == (2, 4, 4)


def test_stops_on_an_empty_listing() -> None:
    paginator = IdKeysetPaginator()
    paginator.update_state(response(0), [])
    assert not paginator.has_next_page


def test_a_listing_without_x_total_is_refused() -> None:
    with pytest.raises(MissingTotal):
        IdKeysetPaginator().update_state(response(None), page(1))


def test_an_api_ignoring_the_range_would_loop_so_it_is_refused() -> None:
    paginator = IdKeysetPaginator(page_size=2)
    paginator.update_state(response(10), page(1, 2))
    with pytest.raises(KeysetNotHonoured):
        paginator.update_state(response(10), page(1, 2))


def test_repeated_records_are_dropped_and_do_not_count_as_progress() -> None:
    paginator = IdKeysetPaginator(page_size=3, after_id=None)
    first = page(1, 2, 3)
    paginator.update_state(response(6), first)
    # the API repeats 2 and 3 (and 4 twice): X-Total counts only what is left (4, 5, 6)
    second = page(3, 2, 4, 4)
    paginator.update_state(response(3), second)
    assert [r["id"] for r in second] == [4]
    assert paginator.has_next_page, "3 were left and only 1 new arrived: keep reading"


def test_a_loosely_ordered_page_is_put_in_id_order() -> None:
    paginator = IdKeysetPaginator(page_size=3)
    data = page(9, 7, 8)
    paginator.update_state(response(10), data)
    assert [r["id"] for r in data] == [7, 8, 9]
    assert paginator.last_id == 9


def test_the_id_range_stays_within_32_bits() -> None:
    """The API's id columns are int4: older Rails answer 500 to a bound beyond them."""
    paginator = IdKeysetPaginator(page_size=2)
    request = Request("GET", "http://x")
    paginator.init_request(request)
    paginator.update_state(response(5), page(3, 7))
    paginator.update_request(request)
    assert request.params["range[id]"] == "8,2147483647"
    assert MAX_ID == 2**31 - 1


@pytest.mark.parametrize(
    ("size", "smaller"), [(100, 50), (50, 25), (25, 12), (12, 10), (11, 10), (10, None), (5, None)]
)
def test_a_heavy_page_is_halved_down_to_the_floor(size: int, smaller: int | None) -> None:
    assert MIN_PAGE_SIZE == 10
    assert smaller_page_size(size) == smaller


def test_the_floor_can_be_chosen() -> None:
    assert smaller_page_size(30, floor=20) == 20
    assert smaller_page_size(20, floor=20) is None


def test_shrinking_keeps_the_place_and_the_expected_pages_right() -> None:
    """95 records at 20 a page: after one page the size drops to 10; the next request still
    starts after the last id, and the 75 records left need 8 more pages, not 95/10."""
    paginator = IdKeysetPaginator(page_size=20)
    request = Request("GET", "http://x")
    paginator.init_request(request)
    paginator.update_state(response(95), page(*range(1, 21)))
    assert paginator.expected_pages == 5
    assert paginator.shrink()
    retry = Request("GET", "http://x")
    paginator.init_request(retry)
    assert retry.params["page[size]"] == 10
    assert retry.params["range[id]"] == f"21,{MAX_ID}"
    assert paginator.expected_pages == 1 + 8
    paginator.update_state(response(75), page(*range(21, 31)))
    assert (paginator.pages, paginator.expected_pages, paginator.expected_total) == (2, 9, 95)


def test_shrinking_stops_at_the_floor() -> None:
    paginator = IdKeysetPaginator(page_size=12)
    assert paginator.shrink() and paginator.page_size == 10
    assert not paginator.shrink() and paginator.page_size == 10


def http_error(status: int) -> HTTPError:
    return HTTPError(f"{status} error", response=response(None, status))


@pytest.mark.parametrize(
    ("error", "heavy"),
    [
        (ReadTimeout("read timed out"), True),
        (ConnectionError(ReadTimeoutError(None, "/v2/x", "Read timed out.")), True),
        (http_error(504), True),
        (http_error(502), False),
        (http_error(500), False),
        (ConnectTimeout("connect timed out"), False),
        (ConnectionError("connection refused"), False),
        (ValueError("malformed"), False),
    ],
)
def test_only_timeouts_and_gateway_timeouts_call_for_a_smaller_page(error, heavy: bool) -> None:
    assert is_heavy_page_failure(error) is heavy


# --- more: resuming, X-Total arithmetic, cleaning, as properties --------------------------

PROPERTY = settings(max_examples=300, deadline=None, database=None)


def test_a_resumed_scan_asks_for_ids_after_its_last_one_from_the_first_request() -> None:
    request = Request("GET", "http://x", params={"page[number]": 4})
    IdKeysetPaginator(page_size=50, after_id=41).init_request(request)
    assert request.params == {"sort": "id", "page[size]": 50, "range[id]": f"42,{MAX_ID}"}


def test_a_new_scan_has_no_id_bound() -> None:
    request = Request("GET", "http://x")
    IdKeysetPaginator().init_request(request)
    assert "range[id]" not in request.params


def test_a_resumed_scan_drops_records_at_or_below_its_starting_id() -> None:
    paginator = IdKeysetPaginator(page_size=3, after_id=5)
    data = page(4, 5, 6)
    paginator.update_state(response(1), data)
    assert [r["id"] for r in data] == [6] and paginator.records == 1
    assert not paginator.has_next_page


def test_nothing_is_expected_before_the_first_page() -> None:
    paginator = IdKeysetPaginator()
    assert (paginator.expected_pages, paginator.expected_total) == (None, None)


def test_an_empty_listing_is_one_page() -> None:
    paginator = IdKeysetPaginator()
    paginator.update_state(response(0), None)
    assert (paginator.expected_pages, paginator.pages, paginator.records) == (1, 1, 0)


def test_string_ids_are_compared_as_numbers() -> None:
    paginator = IdKeysetPaginator(page_size=3)
    data = [{"id": "10"}, {"id": "9"}, {"id": "100"}]
    paginator.update_state(response(4), data)
    assert [r["id"] for r in data] == ["9", "10", "100"] and paginator.last_id == 100


@PROPERTY
@given(total=st.integers(0, 1000), size=st.integers(1, 100))
def test_x_total_tells_the_pages_ahead_and_the_last_page_needs_no_extra_call(
    total: int, size: int
) -> None:
    """A well-behaved listing of ``total`` records takes exactly ceil(total / size) calls
    (one when empty), each of which already knows how many there will be."""
    paginator = IdKeysetPaginator(page_size=size)
    calls = 0
    while True:
        left = range((paginator.last_id or 0) + 1, total + 1)
        paginator.update_state(response(len(left)), page(*left[:size]))
        calls += 1
        assert paginator.expected_pages == max(1, math.ceil(total / size))
        assert paginator.expected_total == total
        if not paginator.has_next_page:
            break
    assert calls == max(1, math.ceil(total / size))
    assert (paginator.pages, paginator.records, paginator.left) == (calls, total, 0)


@PROPERTY
@given(
    ids=st.sets(st.integers(1, MAX_ID), max_size=300),
    size=st.integers(1, 100),
    data=st.data(),
)
def test_repeats_and_loose_order_yield_every_record_once_in_id_order(ids, size, data) -> None:
    """The API may repeat records already read and order a page loosely: what the
    paginator lets through is every record once, ascending."""
    ids = sorted(ids)
    paginator = IdKeysetPaginator(page_size=size)
    yielded = []
    while True:
        after = paginator.last_id or 0
        left = [i for i in ids if i > after]
        fresh = left[:size]
        old = data.draw(st.lists(st.sampled_from(ids[: len(ids) - len(left)] or [0]), max_size=3))
        old = [i for i in old if i]
        doubled = data.draw(st.lists(st.sampled_from(fresh or [0]), max_size=2))
        doubled = [i for i in doubled if i]
        records = page(*data.draw(st.permutations(fresh + old + doubled)))
        paginator.update_state(response(len(left)), records)
        yielded += [r["id"] for r in records]
        if not paginator.has_next_page:
            break
    assert yielded == ids
    assert paginator.records == len(ids), "a repeat does not count as progress"


@PROPERTY
@given(total=st.integers(1, 500), size=st.integers(10, 100), shrinks=st.lists(st.integers(0, 20)))
def test_shrinking_mid_scan_loses_and_repeats_nothing(total, size, shrinks) -> None:
    """Whenever the page is cut, the next request starts after the last id read and the
    pages ahead are counted at the new size."""
    ids = list(range(1, total + 1))
    paginator = IdKeysetPaginator(page_size=size)
    yielded = []
    while True:
        request = Request("GET", "http://x")
        paginator.init_request(request)
        if paginator.pages in shrinks:
            paginator.shrink()
            request = Request("GET", "http://x")
            paginator.init_request(request)
        size_now = request.params["page[size]"]
        assert size_now == paginator.page_size >= MIN_PAGE_SIZE
        after = int(request.params.get("range[id]", "1,").split(",")[0]) - 1
        left = [i for i in ids if i > after]
        paginator.update_state(response(len(left)), page(*left[:size_now]))
        yielded += left[:size_now]
        if paginator.has_next_page:
            assert paginator.expected_pages == paginator.pages + math.ceil(
                paginator.left / paginator.page_size
            )
        else:
            break
    assert yielded == ids
