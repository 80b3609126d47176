"""The rice_cooker query semantics, on plain records (no server)."""

from __future__ import annotations

import pytest

from intra_simulator.query import (
    BOOL,
    INT,
    STR,
    TIME,
    Columns,
    Page,
    QueryError,
    apply_sort,
    beyond_int4,
    build_predicate,
    pagination_headers,
    parse_page,
    parse_sort,
)

COLUMNS = Columns(
    types={
        "id": INT,
        "kind": STR,
        "active": BOOL,
        "updated_at": TIME,
        "end_at": TIME,
        "begin_at": TIME,
    },
    getters={},
    custom_filters={},
    not_sortable=frozenset({"active"}),
)
RECORDS = [
    {
        "id": 1,
        "kind": "student",
        "active": True,
        "updated_at": "2026-01-01T10:00:00.000Z",
        "end_at": None,
        "begin_at": "2020-01-01T00:00:00.000Z",
    },
    {
        "id": 2,
        "kind": "admin",
        "active": False,
        "updated_at": "2026-01-02T10:00:00.000Z",
        "end_at": "2026-02-01T00:00:00.000Z",
        "begin_at": "2099-01-01T00:00:00.000Z",
    },
    {
        "id": 3,
        "kind": "external",
        "active": True,
        "updated_at": "2026-01-02T23:59:59.999Z",
        "end_at": None,
        "begin_at": None,
    },
]


def ids(params: dict[str, str]) -> list[int]:
    keep = build_predicate(params, COLUMNS)
    return [r["id"] for r in RECORDS if keep(r)]


def test_filter_values_are_or_ed_and_filters_and_ed() -> None:
    assert ids({"filter[kind]": "student,admin"}) == [1, 2]
    assert ids({"filter[kind]": "student,admin", "filter[active]": "false"}) == [2]


def test_empty_filter_is_ignored() -> None:
    assert ids({"filter[kind]": ""}) == [1, 2, 3]


def test_timestamp_filter_compares_calendar_dates() -> None:
    assert ids({"filter[updated_at]": "2026-01-02"}) == [2, 3]


def test_auto_boolean_filters_on_at_columns() -> None:
    assert ids({"filter[end]": "true"}) == [2]
    assert ids({"filter[end]": "false"}) == [1, 3]
    assert ids({"filter[future]": "true"}) == [2]
    with pytest.raises(QueryError):
        ids({"filter[end]": "maybe"})


def test_range_is_inclusive_on_both_ends() -> None:
    assert ids({"range[id]": "1,2"}) == [1, 2]
    assert ids({"range[updated_at]": "2026-01-02T10:00:00.000Z,2026-01-02T23:59:59.999Z"}) == [2, 3]
    assert ids({"range[updated_at]": "2026-01-02T10:00:00Z,2026-01-02T12:00:00Z"}) == [2]


@pytest.mark.parametrize("bad", ["1", "1,2,3", ""])
def test_range_needs_exactly_two_values(bad: str) -> None:
    with pytest.raises(QueryError) as error:
        ids({"range[id]": bad})
    assert error.value.body["error"] == "Range Error"


def test_unknown_filter_is_a_400_naming_the_allowed_ones() -> None:
    with pytest.raises(QueryError) as error:
        ids({"filter[campus_id]": "1"})
    assert error.value.status == 400
    assert error.value.body["error"] == "Filter Error"
    assert "campus_id doesn't exists" in error.value.body["message"]
    assert "kind" in error.value.body["message"]


def test_sort_is_multi_key_with_descending_and_nulls_last() -> None:
    records = list(RECORDS)
    apply_sort(records, parse_sort({"sort": "kind,-id"}, COLUMNS), COLUMNS)
    assert [r["id"] for r in records] == [2, 3, 1]
    apply_sort(records, parse_sort({"sort": "begin_at"}, COLUMNS), COLUMNS)
    assert [r["id"] for r in records] == [1, 2, 3]


def test_unsortable_field_is_a_sort_error() -> None:
    with pytest.raises(QueryError) as error:
        parse_sort({"sort": "-active"}, COLUMNS)
    assert error.value.body == {
        "error": "Sort Error",
        "message": "The active field is not sortable",
    }


def test_page_parameters_both_spellings_default_and_clamp() -> None:
    assert parse_page({}) == Page(number=1, size=30, size_given=False)
    assert parse_page({"page[number]": "3", "page[size]": "500"}) == Page(3, 100, True)
    assert parse_page({"page": "2", "per_page": "10"}) == Page(2, 10, True)
    assert parse_page({"page": "-4", "per_page": "x"}).number == 1


def test_link_header_follows_api_pagination_rel_rules() -> None:
    first = pagination_headers("http://x/v2/cursus", {"sort": "id"}, Page(1, 10, True), 25)
    assert first["X-Total"] == "25"
    assert first["Link"] == (
        '<http://x/v2/cursus?sort=id&page=3&per_page=10>; rel="last", '
        '<http://x/v2/cursus?sort=id&page=2&per_page=10>; rel="next"'
    )
    last = pagination_headers("http://x/v2/cursus", {}, Page(3, 10, False), 25)
    assert [part.split("rel=")[1] for part in last["Link"].split(", ")] == ['"first"', '"prev"']
    alone = pagination_headers("http://x/v2/cursus", {}, Page(1, 30, False), 5)
    assert "Link" not in alone


@pytest.mark.parametrize(
    ("params", "beyond"),
    [
        ({"range[id]": "1,2147483647"}, False),
        ({"range[id]": "1,2147483648"}, True),
        ({"range[id]": "-2147483649,0"}, True),
        ({"filter[id]": "3,9223372036854775807"}, True),
        ({"filter[user_id]": "2147483648"}, True),
        ({"range[wallet]": "0,9223372036854775807"}, False),
        ({"range[id]": "a,b"}, False),
        ({"sort": "id"}, False),
    ],
)
def test_id_values_beyond_32_bits_are_spotted(params: dict, beyond: bool) -> None:
    """Rails raises on them against an int4 id column (the server answers 500)."""
    assert beyond_int4(params) is beyond
