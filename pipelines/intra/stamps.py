"""The API's times as text: ISO 8601, in UTC, written as the API reads them in a range."""

from __future__ import annotations

from datetime import datetime


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(moment: str) -> datetime:
    """A time the API or this code wrote (``Z`` or an offset, any precision)."""
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))
