"""Which erasures reach the marts: those make a build follow and restart the watch's chain of
selective builds; deleting the old sessions of people the mirror does not hold does neither."""

from __future__ import annotations

from pipelines.run.privacy import STRANGERS, Erasure, changes_marts


def test_old_sessions_of_strangers_change_no_mart() -> None:
    # at network scale sessions cross the kept horizon at nearly every tick: each made the
    # tick a build of everything (80 s) before
    assert not changes_marts({STRANGERS: 3})
    assert not changes_marts({})


def test_an_anonymized_student_changes_the_marts() -> None:
    assert changes_marts({"users": 1, STRANGERS: 3})
    assert changes_marts({"teams": 2})


def test_an_erasure_of_rows_loaded_since_the_chains_state_needs_no_build_of_everything() -> None:
    again = Erasure({"users": 1, "teams": 2}, oldest_load="1796554487.67")
    assert again.rewrote_only_loads_after("1796554400.01"), "reloaded rows: a selective build"
    assert not again.rewrote_only_loads_after("1796554487.67"), "a row of the chain's state"
    assert not again.rewrote_only_loads_after(None), "no chain (a cron run): everything"
    assert not Erasure({STRANGERS: 3}).rewrote_only_loads_after("1796554400.01")
