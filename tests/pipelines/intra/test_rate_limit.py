"""The process-wide limiter, on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from pipelines.intra.rate_limit import SPACING_MARGIN, QuotaExhausted, RateLimiter


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


def test_budget_frees_up_as_the_hour_rolls() -> None:
    rl, clock = limiter(per_second=100, per_hour=2)
    rl.acquire()
    rl.acquire()
    clock.now += 3601
    rl.acquire()
    assert rl.hourly_budget_left() == 1


def test_pause_holds_everyone_back_after_a_429() -> None:
    rl, clock = limiter(per_second=2)
    rl.acquire()
    rl.pause(5)
    before = clock.now
    rl.acquire()
    assert clock.now - before == pytest.approx(5)
