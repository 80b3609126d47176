"""Keyset pagination: the requests it builds and when it stops."""

from __future__ import annotations

import pytest
from requests import Request, Response

from pipelines.intra.paginator import MAX_ID, IdKeysetPaginator, KeysetNotHonoured, MissingTotal


def response(total: int | None) -> Response:
    r = Response()
    r.status_code = 200
    if total is not None:
        r.headers["X-Total"] = str(total)
    r.request = Request("GET", "http://x/v2/things").prepare()
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
    assert paginator.duplicates == 3


def test_a_loosely_ordered_page_is_put_in_id_order() -> None:
    paginator = IdKeysetPaginator(page_size=3)
    data = page(9, 7, 8)
    paginator.update_state(response(10), data)
    assert [r["id"] for r in data] == [7, 8, 9]
    assert paginator.last_id == 9
