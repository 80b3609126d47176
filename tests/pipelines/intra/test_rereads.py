"""Records read again by an overlapping window are loaded only when they changed."""

from __future__ import annotations

from pipelines.intra.rereads import Rereads


def record(rid: int, updated_at: str, **values) -> dict:
    return {"id": rid, "updated_at": updated_at, **values}


def rereads(state: dict) -> Rereads:
    return Rereads(state, lambda r: r["updated_at"])


def test_a_record_read_again_as_it_was_is_skipped() -> None:
    state: dict = {}
    first = [record(1, "2026-12-06T10:00:00Z", mark=100), record(2, "2026-12-06T10:01:00Z")]
    assert rereads(state).changed(first) == first
    again = rereads(state)
    assert again.changed([dict(r) for r in first]) == []
    assert again.skipped == 2


def test_any_difference_loads_it_silent_changes_included() -> None:
    state: dict = {}
    rereads(state).changed([record(1, "2026-12-06T10:00:00Z", status="waiting")])
    silent = record(1, "2026-12-06T10:00:00Z", status="finished")  # updated_at did not move
    assert rereads(state).changed([silent]) == [silent]
    assert rereads(state).changed([dict(silent)]) == []


def test_records_stamped_before_the_next_window_are_forgotten() -> None:
    state: dict = {}
    window = rereads(state)
    window.changed([record(1, "2026-12-06T09:50:00Z"), record(2, "2026-12-06T10:04:00.5Z")])
    window.forget_before("2026-12-06T10:00:00Z")
    assert sorted(state["recent"]) == ["2"]
    # forgotten: read again (it changes and comes back), it loads; it costs nothing to know
    assert rereads(state).changed([record(1, "2026-12-06T09:50:00Z")]) != []


def test_the_state_is_plain_json() -> None:
    import json

    state: dict = {}
    rereads(state).changed([record(7, "2026-12-06T10:00:00+00:00", nested={"a": [1, 2]})])
    assert json.loads(json.dumps(state)) == state
