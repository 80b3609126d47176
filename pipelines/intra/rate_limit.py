"""One process-wide pace-keeper for the API's per-application limits.

The 42 API allows an application a number of requests per second (2 by default) and per hour
(1,200); it says which in ``X-Secondly-RateLimit-Limit`` / ``X-Hourly-RateLimit-Limit`` and
how many are left in ``X-Hourly-RateLimit-Remaining``. The limits belong to the application,
not to a connection or a resource, so every request of the process goes through one limiter:

- calls are spaced at least ``1 / per_second`` apart, plus a margin for the jitter between
  our sending and the server's counting, which is measured on arrival and approximate (even
  a perfect sender sometimes gets a 429). The margin adapts: it starts at 2%, doubles with
  each 429 of the secondly limit, up to ``MAX_SPACING_MARGIN``, and halves again (not below
  2%) after ``CALM_CALLS`` calls without one;
- when the hour's budget is spent (by our count or by the server's ``Remaining`` header), the
  next call raises ``QuotaExhausted`` instead of sleeping for up to an hour: the caller stops
  cleanly and the next cron run resumes.

dlt has retries (with ``Retry-After``) but no rate limiter, hence this module.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

# The spacing is 1/per_second times the margin: 1.02 at least (10 ms between two calls at
# 2/s). Half a percent was tried: on the simulator a quiet host's sync got a 429 in one run
# of three (so one call more than the minimum), and ran no faster (its pages were answered
# in about the half second a call slot lasts). At most 1.10 after 429s.
MIN_SPACING_MARGIN = 1.02
MAX_SPACING_MARGIN = 1.10
CALM_CALLS = 1000


class QuotaExhausted(Exception):
    """The application's hourly request budget is spent; the message says when to come back."""

    def __init__(self, resume_at: datetime) -> None:
        super().__init__(
            "hourly API quota exhausted; the next run can resume after "
            f"{resume_at.strftime('%Y-%m-%d %H:%M:%S UTC')}"
        )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class RateLimiter:
    """Thread-safe pacing under a per-second and a per-hour limit."""

    def __init__(
        self,
        per_second: float,
        per_hour: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self.per_hour = per_hour
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._sent: deque[float] = deque()  # our calls in the last hour
        self._server_remaining: int | None = None
        self._server_seen_at = 0.0  # when the server last said what is left
        self.margin = MIN_SPACING_MARGIN
        self._calm = 0  # calls since the last 429 of the secondly limit (or margin change)

    @property
    def interval(self) -> float:
        return self.margin / self.per_second if self.per_second > 0 else 0.0

    def acquire(self) -> None:
        """Block until a call may be sent; raise ``QuotaExhausted`` if the hour is spent."""
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - 3600:
                self._sent.popleft()
            if self._server_remaining is not None and now - self._server_seen_at >= 3600:
                # the server's count was for an hour that has passed (a long-lived watch
                # would otherwise never call again after one spent hour)
                self._server_remaining = None
            if self._server_remaining == 0 or (self.per_hour and len(self._sent) >= self.per_hour):
                oldest = self._sent[0] if self._sent else now
                raise QuotaExhausted(
                    datetime.now(UTC) + timedelta(seconds=max(1.0, oldest + 3600 - now))
                )
            self._calm += 1
            if self._calm >= CALM_CALLS and self.margin > MIN_SPACING_MARGIN:
                self.margin = max(MIN_SPACING_MARGIN, 1 + (self.margin - 1) / 2)
                self._calm = 0
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
            self._sent.append(slot)
            if self._server_remaining is not None:
                self._server_remaining -= 1
        wait = slot - now
        if wait > 0:
            self._sleep(wait)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the real limits and the server's count of what is left this hour."""
        per_second = _int_header(headers, "X-Secondly-RateLimit-Limit")
        per_hour = _int_header(headers, "X-Hourly-RateLimit-Limit")
        remaining = _int_header(headers, "X-Hourly-RateLimit-Remaining")
        with self._lock:
            if per_second:
                self.per_second = per_second
            if per_hour:
                self.per_hour = per_hour
            if remaining is not None:
                self._server_remaining = remaining
                self._server_seen_at = self._clock()

    def pause(self, seconds: float) -> None:
        """Hold every caller back (after a 429 that asked us to wait)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)

    def widen(self) -> None:
        """A 429 of the secondly limit: the server counted our calls closer than we spaced
        them; space them further apart (the margin's excess doubles)."""
        with self._lock:
            self.margin = min(MAX_SPACING_MARGIN, 1 + 2 * (self.margin - 1))
            self._calm = 0

    def calls_per_second(self) -> float:
        """The rate the limiter currently allows, for ETAs."""
        return 1.0 / self.interval if self.interval else float("inf")
