"""The simulator's own locations_stats (``intra_simulator.logtime``): the oracle the project's
logtime is compared with, so each of its rules is pinned here (docs/simulator.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intra_simulator.logtime import locations_stats

ZONES = {1: "Europe/Paris", 12: "Europe/Brussels", 36: "Australia/Adelaide", 99: "UTC"}
NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def session(begin: str, end: str | None, campus_id: int = 99, primary: bool = True) -> dict:
    return {"begin_at": begin, "end_at": end, "primary": primary, "campus_id": campus_id}


def stats(*sessions: dict, now: datetime = NOW, **options) -> dict[str, str]:
    return locations_stats(sessions, ZONES, now, **options)


def test_overlapping_nested_and_duplicate_sessions_count_once() -> None:
    overlapping = stats(
        session("2026-10-30T10:00:00.000Z", "2026-10-30T12:00:00.000Z"),
        session("2026-10-30T11:00:00.000Z", "2026-10-30T13:00:00.000Z"),
    )
    nested = stats(
        session("2026-10-30T10:00:00.000Z", "2026-10-30T14:00:00.000Z"),
        session("2026-10-30T11:00:00.000Z", "2026-10-30T12:00:00.000Z"),
    )
    duplicate = stats(*[session("2026-10-30T10:00:00.000Z", "2026-10-30T12:00:00.000Z")] * 2)
    assert overlapping == {"2026-10-30": "03:00:00.000000"}
    assert nested == {"2026-10-30": "04:00:00.000000"}
    assert duplicate == {"2026-10-30": "02:00:00.000000"}


def test_sessions_that_touch_merge_and_days_come_newest_first() -> None:
    answer = stats(
        session("2026-10-28T08:00:00.000Z", "2026-10-28T09:00:00.000Z"),
        session("2026-10-30T10:00:00.000Z", "2026-10-30T11:00:00.000Z"),
        session("2026-10-30T11:00:00.000Z", "2026-10-30T11:30:00.000Z"),
    )
    assert list(answer) == ["2026-10-30", "2026-10-28"]
    assert answer["2026-10-30"] == "01:30:00.000000"


def test_a_session_is_split_at_local_midnight_of_its_campus() -> None:
    # Paris in June is UTC+2: 22:00 to 02:30 local
    answer = stats(session("2026-06-10T20:00:00.000Z", "2026-06-11T00:30:00.000Z", 1))
    assert answer == {"2026-06-11": "02:30:00.000000", "2026-06-10": "02:00:00.000000"}


def test_the_zone_is_that_of_the_campus_of_the_first_session_of_a_merged_interval() -> None:
    # 21:30 to 23:30 UTC; the merged interval starts at a Paris session (UTC+1 in November)
    answer = stats(
        session("2026-11-02T21:30:00.000Z", "2026-11-02T22:30:00.000Z", 1),
        session("2026-11-02T22:00:00.000Z", "2026-11-02T23:30:00.000Z", 99),
        now=datetime(2026, 11, 3, tzinfo=UTC),
    )
    assert answer == {"2026-11-03": "00:30:00.000000", "2026-11-02": "01:30:00.000000"}


def test_the_summer_time_fall_back_day_has_25_hours() -> None:
    # Brussels, 2026-10-25: from local midnight (UTC+2) to the next one (UTC+1)
    answer = stats(session("2026-10-24T22:00:00.000Z", "2026-10-25T23:00:00.000Z", 12))
    assert answer == {"2026-10-25": "25:00:00.000000"}


def test_the_summer_time_spring_forward_day_has_23_hours() -> None:
    # Adelaide, 2026-10-04: local midnight is 14:30 UTC the day before (UTC+9:30), the next one
    # 13:30 UTC (UTC+10:30)
    answer = stats(session("2026-10-03T14:00:00.000Z", "2026-10-04T14:00:00.000Z", 36))
    assert answer == {
        "2026-10-05": "00:30:00.000000",
        "2026-10-04": "23:00:00.000000",
        "2026-10-03": "00:30:00.000000",
    }


def test_an_open_session_counts_up_to_now_without_a_cap() -> None:
    assert stats(session("2026-11-01T10:00:00.000Z", None)) == {"2026-11-01": "02:00:00.000000"}
    forgotten = stats(session("2026-10-29T00:00:00.000Z", None))
    assert forgotten == {
        "2026-11-01": "12:00:00.000000",
        "2026-10-31": "24:00:00.000000",
        "2026-10-30": "24:00:00.000000",
        "2026-10-29": "24:00:00.000000",
    }


def test_sessions_that_are_not_primary_do_not_count() -> None:
    answer = stats(
        session("2026-10-30T10:00:00.000Z", "2026-10-30T11:00:00.000Z"),
        session("2026-10-30T12:00:00.000Z", "2026-10-30T18:00:00.000Z", primary=False),
        session("2026-10-29T12:00:00.000Z", "2026-10-29T18:00:00.000Z", primary=False),
    )
    assert answer == {"2026-10-30": "01:00:00.000000"}


def test_milliseconds_become_microseconds() -> None:
    answer = stats(session("2026-10-30T10:00:00.125Z", "2026-10-30T10:00:01.375Z"))
    assert answer == {"2026-10-30": "00:00:01.250000"}


def test_sessions_that_end_before_they_begin_or_begin_later_count_nothing() -> None:
    assert stats(session("2026-10-30T10:00:00.000Z", "2026-10-30T09:00:00.000Z")) == {}
    assert stats(session("2026-11-02T10:00:00.000Z", None)) == {}
    assert stats() == {}


def test_a_session_without_a_known_campus_is_split_in_utc() -> None:
    record = {"begin_at": "2026-10-30T23:00:00.000Z", "end_at": "2026-10-31T01:00:00.000Z"}
    assert stats({**record, "primary": True}) == {
        "2026-10-31": "01:00:00.000000",
        "2026-10-30": "01:00:00.000000",
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"time_zone": "Asia/Tokyo"}, {"2026-10-31": "05:00:00.000000"}),
        ({"begin": "2026-10-31", "end": "2026-10-31"}, {"2026-10-31": "01:00:00.000000"}),
        ({"begin": "2026-10-31T05:00:00Z"}, {"2026-10-31": "01:00:00.000000"}),
        ({"end": "2026-10-30"}, {"2026-10-30": "04:00:00.000000"}),
    ],
)
def test_time_zone_begin_at_and_end_at(options: dict, expected: dict) -> None:
    # 20:00 to 01:00 in Paris (UTC+1), which is 04:00 to 09:00 the next day in Tokyo
    answer = stats(session("2026-10-30T19:00:00.000Z", "2026-10-31T00:00:00.000Z", 1), **options)
    assert answer == expected
