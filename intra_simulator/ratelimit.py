"""Per-application rate limits: N requests per second and M per hour, as rolling windows.

Every response carries the four ``X-{Secondly,Hourly}-RateLimit-{Limit,Remaining}`` headers.
A request over a limit is refused (and not counted) with ``Retry-After``: 1 s for the secondly
limit, the seconds until the oldest counted request leaves the window for the hourly one.
A limit of 0 means "no limit" (used to measure the client's own costs).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0
    hourly: bool = False  # refused because the hourly quota is spent


@dataclass
class RateLimiter:
    per_second: int = 2
    per_hour: int = 1200
    _calls: dict[int, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, app_id: int, now: float) -> Decision:
        """Count the request if the limits allow it; say what to answer either way."""
        if not self.per_second and not self.per_hour:
            return Decision(True, self._headers(0, 0))
        window = 3600 if self.per_hour else 1
        with self._lock:
            calls = self._calls.setdefault(app_id, deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            last_second = 0
            for moment in reversed(calls):
                if moment <= now - 1:
                    break
                last_second += 1
            over_hour = self.per_hour and len(calls) >= self.per_hour
            over_second = self.per_second and last_second >= self.per_second
            if over_hour or over_second:
                retry = 1
                if over_hour:
                    retry = max(1, math.ceil(calls[len(calls) - self.per_hour] + 3600 - now))
                return Decision(
                    False, self._headers(len(calls), last_second), retry, bool(over_hour)
                )
            calls.append(now)
            return Decision(True, self._headers(len(calls), last_second + 1))

    def forget(self) -> None:
        """Forget every call made so far (the next ones start a new second and hour)."""
        with self._lock:
            self._calls.clear()

    def _headers(self, in_hour: int, in_second: int) -> dict[str, str]:
        per_second = self.per_second or 1000
        per_hour = self.per_hour or 1000000
        return {
            "X-Secondly-RateLimit-Limit": str(per_second),
            "X-Secondly-RateLimit-Remaining": str(max(0, per_second - in_second)),
            "X-Hourly-RateLimit-Limit": str(per_hour),
            "X-Hourly-RateLimit-Remaining": str(max(0, per_hour - in_hour)),
        }
