"""A user's time on campus per local day: what ``/v2/users/:id/locations_stats`` answers.

The project computes logtime from the locations it mirrors; this is the simulator's own,
independent computation of the same thing, in plain Python, so a test can compare the two.
The rules (docs/simulator.md, locations_stats):

- only ``primary`` sessions count;
- a user's sessions are merged first (union of their intervals), so overlapping sessions,
  a session inside another and duplicate rows count once;
- an open session (``end_at`` null) counts up to ``now``; a session that ends before it
  begins, or begins after ``now``, counts nothing; no cap on long sessions;
- each merged interval is split at the local midnights of one time zone: the given
  ``time_zone``, else that of the campus of the interval's first session (UTC for a campus
  with none), with the tz database, so a day that changes to or from summer time is 23 or 25
  hours long;
- the answer maps each local date with time on it, newest first, to ``"HH:MM:SS.ffffff"``
  (hours above 23 only on a 25-hour day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def merged_intervals(
    sessions: Iterable[dict], now: datetime
) -> list[tuple[datetime, datetime, dict]]:
    """The union of the primary sessions' intervals, each with the session it starts with."""
    spans = []
    for session in sessions:
        if not session.get("primary") or not session.get("begin_at"):
            continue
        begin = parse(session["begin_at"])
        end = parse(session["end_at"]) if session.get("end_at") else now
        if end > begin:
            spans.append((begin, end, session))
    spans.sort(key=lambda span: (span[0], span[1], span[2].get("id") or 0))
    merged: list[tuple[datetime, datetime, dict]] = []
    for begin, end, session in spans:
        if merged and begin <= merged[-1][1]:
            first_begin, first_end, first = merged[-1]
            merged[-1] = (first_begin, max(first_end, end), first)
        else:
            merged.append((begin, end, session))
    return merged


def split_by_day(begin: datetime, end: datetime, zone: ZoneInfo) -> dict[date, timedelta]:
    """The time of ``[begin, end)`` on each local date of ``zone``."""
    days: dict[date, timedelta] = {}
    cursor = begin
    while cursor < end:
        day = cursor.astimezone(zone).date()
        # Local midnight of the next day; fold=0 maps a midnight that a clock change skips
        # to the instant of the change, the day's first instant.
        following = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        if following.astimezone(UTC) <= cursor:  # a clock set back across midnight
            following = following.replace(fold=1)
        stop = min(end, following.astimezone(UTC))
        days[day] = days.get(day, timedelta(0)) + (stop - cursor)
        cursor = stop
    return days


def clock_text(duration: timedelta) -> str:
    """``"HH:MM:SS.ffffff"``, hours not wrapped at 24."""
    micros = duration // timedelta(microseconds=1)
    seconds, micro = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{second:02d}.{micro:06d}"


def locations_stats(
    sessions: Iterable[dict],
    campus_time_zones: dict[int, str],
    now: datetime,
    time_zone: str | None = None,
    begin: str | None = None,
    end: str | None = None,
) -> dict[str, str]:
    """One user's time per local date, newest first (the rules are the module's).

    ``sessions`` are locations in stored form (``begin_at``, ``end_at``, ``primary``,
    ``campus_id``); ``begin`` and ``end`` (a date, or a datetime whose date is taken as
    written) keep the dates between them, both included."""
    fixed = ZoneInfo(time_zone) if time_zone else None
    totals: dict[date, timedelta] = {}
    for first_begin, last_end, first in merged_intervals(sessions, now):
        zone = fixed or ZoneInfo(campus_time_zones.get(first.get("campus_id"), "UTC"))
        for day, spent in split_by_day(first_begin, last_end, zone).items():
            totals[day] = totals.get(day, timedelta(0)) + spent
    low = date.fromisoformat(begin[:10]) if begin else date.min
    high = date.fromisoformat(end[:10]) if end else date.max
    return {
        day.isoformat(): clock_text(spent)
        for day, spent in sorted(totals.items(), reverse=True)
        if spent > timedelta(0) and low <= day <= high
    }
