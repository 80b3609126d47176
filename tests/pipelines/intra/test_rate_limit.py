"""The process-wide limiter, on a fake clock."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.intra.rate_limit import (
    CALM_CALLS,
    MAX_SPACING_MARGIN,
    MIN_SPACING_MARGIN,
    QuotaExhausted,
    RateLimiter,
)

SPACING_MARGIN = MIN_SPACING_MARGIN  # until a 429 of the secondly limit widens it


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(per_second: float = 2, per_hour: int = 1200) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(per_second, per_hour, clock=clock, sleep=clock.sleep), clock


def test_calls_are_spaced_by_the_per_second_limit() -> None:
    rl, clock = limiter(per_second=2)
    starts = []
    for _ in range(5):
        rl.acquire()
        starts.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == pytest.approx([0.5 * SPACING_MARGIN] * 4)


def test_idle_time_is_not_banked_into_a_burst() -> None:
    rl, clock = limiter(per_second=2)
    rl.acquire()
    clock.now += 60
    rl.acquire()
    first = clock.now
    rl.acquire()
    assert clock.now - first == pytest.approx(0.5 * SPACING_MARGIN)


def test_limits_are_learned_from_response_headers() -> None:
    rl, clock = limiter(per_second=2, per_hour=1200)
    rl.observe({"X-Secondly-RateLimit-Limit": "8", "X-Hourly-RateLimit-Limit": "36000"})
    assert rl.per_second == 8 and rl.per_hour == 36000
    rl.acquire()
    start = clock.now
    rl.acquire()
    assert clock.now - start == pytest.approx(SPACING_MARGIN / 8)


def test_hourly_budget_stops_instead_of_sleeping_an_hour() -> None:
    rl, clock = limiter(per_second=100, per_hour=3)
    for _ in range(3):
        rl.acquire()
    with pytest.raises(QuotaExhausted) as stop:
        rl.acquire()
    assert "resume after" in str(stop.value)
    assert clock.now < 1010, "it did not sleep"


def test_server_says_the_hour_is_spent() -> None:
    rl, _ = limiter()
    rl.acquire()
    rl.observe({"X-Hourly-RateLimit-Remaining": "0"})
    with pytest.raises(QuotaExhausted):
        rl.acquire()


def test_a_spent_hour_the_server_reported_ends_with_its_hour() -> None:
    """A long-lived watch keeps its limiter: a 0 the server said an hour ago is stale."""
    rl, clock = limiter()
    rl.acquire()
    rl.observe({"X-Hourly-RateLimit-Remaining": "0"})
    clock.now += 3599
    with pytest.raises(QuotaExhausted):
        rl.acquire()
    clock.now += 2
    rl.acquire()  # asks the server again, which will say what is left now


def test_budget_frees_up_as_the_hour_rolls() -> None:
    rl, clock = limiter(per_second=100, per_hour=2)
    rl.acquire()
    rl.acquire()
    clock.now += 3601
    rl.acquire()  # would raise QuotaExhausted if the first two still counted


def test_pause_holds_everyone_back_after_a_429() -> None:
    rl, clock = limiter(per_second=2)
    rl.acquire()
    rl.pause(5)
    before = clock.now
    rl.acquire()
    assert clock.now - before == pytest.approx(5)


# --- more: the spacing as a property, the hourly budget's edges, headers, pause -------------

PROPERTY = settings(max_examples=300, deadline=None, database=None)


def starts(rl: RateLimiter, clock: FakeClock, gaps) -> list[tuple[float, float]]:
    """(arrival, start) of one call after each gap of idle time."""
    times = []
    for gap in gaps:
        clock.now += gap
        arrival = clock.now
        rl.acquire()
        times.append((arrival, clock.now))
    return times


@PROPERTY
@given(
    per_second=st.floats(0.5, 50),
    gaps=st.lists(st.floats(0, 3), min_size=1, max_size=60),
)
def test_each_call_starts_at_its_arrival_or_one_interval_after_the_previous(
    per_second: float, gaps
) -> None:
    rl, clock = limiter(per_second=per_second, per_hour=0)
    times = starts(rl, clock, gaps)
    previous = -math.inf
    for arrival, start in times:
        assert start == pytest.approx(max(arrival, previous + rl.interval))
        previous = start


@PROPERTY
@given(
    per_second=st.integers(1, 20),
    gaps=st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.3, 0.5, 1.0, 2.5]), max_size=80),
)
def test_no_second_ever_holds_more_calls_than_the_per_second_limit(per_second, gaps) -> None:
    """The contract with the API: no window of one second holds more than ``per_second``
    call starts (the margin leaves room for some jitter on the server's side)."""
    rl, clock = limiter(per_second=per_second, per_hour=0)
    begun = [start for _, start in starts(rl, clock, gaps)]
    for i, first in enumerate(begun):
        in_window = [t for t in begun[i:] if t < first + 1]
        assert len(in_window) <= per_second


def test_the_interval_carries_the_margin_and_gives_the_rate_for_etas() -> None:
    rl, _ = limiter(per_second=4)
    assert rl.interval == pytest.approx(SPACING_MARGIN / 4)
    assert rl.calls_per_second() == pytest.approx(4 / SPACING_MARGIN)


def test_a_per_second_limit_of_zero_means_no_spacing() -> None:
    rl, clock = limiter(per_second=0, per_hour=0)
    for _ in range(50):
        rl.acquire()
    assert clock.now == 1000.0 and rl.calls_per_second() == math.inf


def test_an_hourly_limit_of_zero_means_no_hourly_budget() -> None:
    rl, _ = limiter(per_second=100, per_hour=0)
    for _ in range(5000):
        rl.acquire()


def test_the_hour_is_spent_exactly_after_per_hour_calls() -> None:
    rl, _ = limiter(per_second=100, per_hour=10)
    for _ in range(10):
        rl.acquire()
    with pytest.raises(QuotaExhausted):
        rl.acquire()


def resume_seconds(stop: QuotaExhausted, before: datetime) -> float:
    """Seconds from ``before`` to the resume time the message gives (to the second)."""
    text = str(stop).rsplit("after ", 1)[1].removesuffix(" UTC")
    resume = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return (resume - before.replace(microsecond=0)).total_seconds()


def test_the_quota_stop_says_when_the_oldest_call_of_the_hour_expires() -> None:
    rl, clock = limiter(per_second=100, per_hour=2)
    rl.acquire()
    rl.acquire()
    clock.now += 600
    before = datetime.now(UTC)
    with pytest.raises(QuotaExhausted) as stop:
        rl.acquire()
    assert 3000 - 1 <= resume_seconds(stop.value, before) <= 3000 + 2


def test_a_quota_stop_by_the_server_alone_resumes_in_an_hour() -> None:
    """Without calls of our own to date the hour, the server's 0 means a full hour."""
    rl, _ = limiter()
    rl.observe({"X-Hourly-RateLimit-Remaining": "0"})
    before = datetime.now(UTC)
    with pytest.raises(QuotaExhausted) as stop:
        rl.acquire()
    assert 3600 - 1 <= resume_seconds(stop.value, before) <= 3600 + 2


def test_a_quota_stop_resumes_no_sooner_than_a_second_from_now() -> None:
    rl, clock = limiter(per_second=100, per_hour=1)
    rl.acquire()
    clock.now += 3599.9
    before = datetime.now(UTC)
    with pytest.raises(QuotaExhausted) as stop:
        rl.acquire()
    assert 1 <= resume_seconds(stop.value, before) <= 2


def test_a_call_exactly_an_hour_old_no_longer_counts() -> None:
    rl, clock = limiter(per_second=100, per_hour=1)
    rl.acquire()
    clock.now += 3600 - 0.001
    with pytest.raises(QuotaExhausted):
        rl.acquire()
    clock.now += 0.001
    rl.acquire()


def test_a_refused_call_takes_no_slot_and_no_budget() -> None:
    rl, clock = limiter(per_second=1, per_hour=1)
    rl.acquire()
    for _ in range(3):
        with pytest.raises(QuotaExhausted):
            rl.acquire()
    clock.now += 3600
    arrival = clock.now
    rl.acquire()
    assert clock.now == arrival, "no slot was reserved by the refused calls"
    with pytest.raises(QuotaExhausted):
        rl.acquire()


def test_the_server_count_is_spent_down_by_our_own_calls() -> None:
    """Between two responses our calls use up what the server said was left."""
    rl, _ = limiter(per_second=100, per_hour=1200)
    rl.observe({"X-Hourly-RateLimit-Remaining": "2"})
    rl.acquire()
    rl.acquire()
    with pytest.raises(QuotaExhausted):
        rl.acquire()
    rl.observe({"X-Hourly-RateLimit-Remaining": "1"})  # the server knows better
    rl.acquire()


def test_our_count_stops_us_even_when_the_server_says_more_is_left() -> None:
    rl, _ = limiter(per_second=100, per_hour=2)
    rl.observe({"X-Hourly-RateLimit-Remaining": "500"})
    rl.acquire()
    rl.acquire()
    with pytest.raises(QuotaExhausted):
        rl.acquire()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Secondly-RateLimit-Limit": "fast", "X-Hourly-RateLimit-Limit": ""},
        {"X-Secondly-RateLimit-Limit": "0", "X-Hourly-RateLimit-Limit": "0"},
        {"X-Hourly-RateLimit-Remaining": "lots"},
    ],
)
def test_missing_malformed_or_zero_limits_are_not_learned(headers) -> None:
    rl, _ = limiter(per_second=2, per_hour=1200)
    rl.observe(headers)
    assert (rl.per_second, rl.per_hour) == (2, 1200)
    for _ in range(10):
        rl.acquire()


def test_a_learned_hourly_limit_applies_to_calls_already_made() -> None:
    rl, _ = limiter(per_second=100, per_hour=1200)
    for _ in range(3):
        rl.acquire()
    rl.observe({"X-Hourly-RateLimit-Limit": "3"})
    with pytest.raises(QuotaExhausted):
        rl.acquire()


def test_a_pause_shorter_than_the_spacing_changes_nothing() -> None:
    rl, clock = limiter(per_second=1)
    rl.acquire()
    start = clock.now
    rl.pause(0.2)
    rl.acquire()
    assert clock.now - start == pytest.approx(SPACING_MARGIN)


def test_pauses_count_from_now_and_the_longest_wins() -> None:
    rl, clock = limiter(per_second=100)
    rl.acquire()
    clock.now += 10
    rl.pause(30)
    rl.pause(5)
    before = clock.now
    rl.acquire()
    assert clock.now - before == pytest.approx(30)
    second = clock.now
    rl.acquire()
    assert clock.now - second == pytest.approx(SPACING_MARGIN / 100), "spacing resumes"


def test_a_429_of_the_secondly_limit_widens_the_spacing_and_calm_calls_narrow_it() -> None:
    rl, clock = limiter(per_second=2, per_hour=0)
    for margin in (1.04, 1.08, MAX_SPACING_MARGIN, MAX_SPACING_MARGIN):
        rl.widen()
        assert rl.margin == pytest.approx(margin)
    rl.acquire()
    start = clock.now
    rl.acquire()
    assert clock.now - start == pytest.approx(0.5 * MAX_SPACING_MARGIN)
    for _ in range(CALM_CALLS):
        rl.acquire()
    assert rl.margin == pytest.approx(1.05), "halved after calm calls"
    for _ in range(10 * CALM_CALLS):
        rl.acquire()
    assert rl.margin == pytest.approx(MIN_SPACING_MARGIN), "never below the least"
