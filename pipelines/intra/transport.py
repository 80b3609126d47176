"""The HTTP session every request of the source goes through.

It is dlt's retrying ``requests`` client (``dlt.sources.helpers.requests.Client``: retries 429,
5xx, timeouts and dropped connections with exponential backoff, honouring ``Retry-After``, as
set by ``[runtime] request_*`` in ``.dlt/config.toml``) with one transport adapter mounted that
does what dlt does not:

- waits for the process-wide ``RateLimiter`` before *every* attempt, retries included;
- teaches the limiter the limits the server announces in its headers;
- turns a 429 that means "hourly quota spent" (a long ``Retry-After`` or
  ``X-Hourly-RateLimit-Remaining: 0``) into ``QuotaExhausted`` rather than a long sleep;
- counts attempts per path and status, so the run can report API calls per resource;
- learns the server's clock from the ``Date`` header.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from dlt.sources.helpers.requests import Client
from requests import PreparedRequest, Response, Session
from requests.adapters import HTTPAdapter

from pipelines.intra.rate_limit import QuotaExhausted, RateLimiter

USER_AGENT = "intra-elt/0.1 (dlt)"
# A Retry-After longer than this means the hourly budget is spent: stop instead of sleeping.
LONG_RETRY_AFTER = 60


class ServerClock:
    """The API server's time, learned from the ``Date`` header of its responses.

    Incremental windows end at the *server's* now: a client clock that runs early or late
    would otherwise make windows skip or repeat records.
    """

    def __init__(self) -> None:
        self.offset: float | None = None

    def observe(self, date_header: str | None) -> None:
        if date_header:
            with contextlib.suppress(TypeError, ValueError):
                self.offset = parsedate_to_datetime(date_header).timestamp() - time.time()

    def now(self) -> datetime:
        """Server time, floored to the second (the ``Date`` header's resolution)."""
        seconds = int(time.time() + (self.offset or 0.0))
        return datetime.fromtimestamp(seconds, UTC)


class CallStats:
    """Thread-safe counters of HTTP attempts, by URL path and outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_path: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def count(self, path: str, outcome: str) -> None:
        with self._lock:
            self.by_path[path][outcome] += 1

    def calls(self, path: str | re.Pattern | None = None) -> int:
        """Attempts on one path (or on every path a pattern matches), or on all."""
        return sum(self.outcomes(path).values())

    def outcomes(self, path: str | re.Pattern | None = None) -> dict[str, int]:
        with self._lock:
            if path is None:
                paths = list(self.by_path)
            elif isinstance(path, re.Pattern):
                paths = [p for p in self.by_path if path.fullmatch(p)]
            else:
                paths = [path] if path in self.by_path else []
            counts: dict[str, int] = defaultdict(int)
            for p in paths:
                for outcome, count in self.by_path[p].items():
                    counts[outcome] += count
            return dict(counts)

    def total(self, outcome: str) -> int:
        with self._lock:
            return sum(counts.get(outcome, 0) for counts in self.by_path.values())

    def reset(self) -> None:
        """Start counting again: a long-lived runner reports each tick's calls alone."""
        with self._lock:
            self.by_path.clear()


def _retry_after(response: Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class ThrottledAdapter(HTTPAdapter):
    """Rate limiting and call accounting at the transport level, under dlt's retries."""

    def __init__(
        self, limiter: RateLimiter, stats: CallStats, clock: ServerClock, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.limiter = limiter
        self.stats = stats
        self.clock = clock

    def send(self, request: PreparedRequest, **kwargs) -> Response:
        path = urlsplit(request.url).path
        self.limiter.acquire()
        try:
            response = super().send(request, **kwargs)
        except Exception:
            self.stats.count(path, "error")
            raise
        self.stats.count(path, str(response.status_code))
        self.limiter.observe(response.headers)
        self.clock.observe(response.headers.get("Date"))
        if response.status_code == 429:
            wait = _retry_after(response)
            hourly_spent = response.headers.get("X-Hourly-RateLimit-Remaining") == "0"
            if hourly_spent or (wait is not None and wait > LONG_RETRY_AFTER):
                seconds = wait if wait is not None else 3600
                raise QuotaExhausted(datetime.now(UTC) + timedelta(seconds=seconds))
            self.limiter.pause(wait if wait is not None else 1.0)
            self.limiter.widen()
        return response


def build_session(limiter: RateLimiter, stats: CallStats, clock: ServerClock) -> Session:
    """A dlt retrying session (settings from ``[runtime]``) with the throttled adapter."""
    client = Client(raise_for_status=False)
    client.configure()  # request_timeout, request_max_attempts, backoff from dlt config
    session = client.session
    adapter = ThrottledAdapter(limiter, stats, clock, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session
