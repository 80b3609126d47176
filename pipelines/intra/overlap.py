"""How far back an incremental window reaches: the whole overlap, or a short one between sweeps.

A window reaches back before the end of the last one to catch records whose ``updated_at``
(or session time) was set a little before they became visible: they would fall before the
next window's start otherwise. An hourly run reaches back the whole overlap every time (five
minutes of an hour: cheap). A watch ticking every minute would then read every change about
five times, and at the network's peak that was most of its calls.

Under the watch, most windows reach back only a short overlap; once every ``sweep_every`` a
window (the sweep) reaches back the whole overlap from where the last sweep ended. Every record
visible within the whole overlap of its stamp is still read: by the next window when it is
late by less than the short overlap, else by the next sweep (the first window planned at least
``sweep_every`` after the last sweep's end: up to a tick more).

The resource state keeps ``sweep_end`` beside ``window_end`` (the same moment after a sweep);
without it (state saved before, or by hourly runs alone) the last window was a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelines.intra.stamps import parse, stamp


@dataclass(frozen=True)
class ShortOverlap:
    """The watch's windows: ``reach`` back on most ticks, a sweep every ``sweep_every``."""

    reach: timedelta
    sweep_every: timedelta


def last_sweep_end(state: dict) -> datetime:
    """Where the last sweep ended (``state`` has a ``window_end``); without a ``sweep_end``,
    the last window was one."""
    return min(parse(state.get("sweep_end") or state["window_end"]), parse(state["window_end"]))


def window_start(
    state: dict, now: datetime, overlap: timedelta, short: ShortOverlap | None
) -> tuple[str, bool]:
    """The next window's start, and whether that window is a sweep (``state`` has a
    ``window_end``: not a first run)."""
    sweep_end = last_sweep_end(state)
    if short is None or now - sweep_end >= short.sweep_every:
        return stamp(sweep_end - overlap), True
    return stamp(parse(state["window_end"]) - short.reach), False


def end_windows(state: dict, end: str, sweep: bool) -> None:
    """Record that the windows (or a read of everything, which is a sweep) reached ``end``.
    A state without ``sweep_end`` (saved before sweeps) gets its last window's end as the
    last sweep's, before a short window moves ``window_end`` on: else every later tick would
    take its own last window for a sweep, and none would ever come."""
    if not sweep and "window_end" in state:
        state.setdefault("sweep_end", state["window_end"])
    state["window_end"] = end
    if sweep:
        state["sweep_end"] = end


def earliest_reread(state: dict, overlap: timedelta) -> datetime:
    """The earliest stamp the next windows may read again: what is older can be forgotten."""
    return last_sweep_end(state) - overlap
