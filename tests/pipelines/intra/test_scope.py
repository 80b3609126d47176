"""The scope the live resources are narrowed to, as the reference snapshots define it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.intra.scope import ScopeTracker


def campus(id_: int, active: bool = True, public: bool = True) -> dict:
    return {"id": id_, "name": f"campus {id_}", "active": active, "public": public}


def bloc(id_: int, campus_id: int, *coalitions: int) -> dict:
    return {
        "id": id_,
        "campus_id": campus_id,
        "cursus_id": 21,
        "coalitions": [{"id": c, "name": f"coalition {c}"} for c in coalitions],
    }


def remember(resource: str, pages: list[list[dict]], state: dict) -> dict:
    tracker = ScopeTracker(resource)
    for page in pages:
        tracker.see(page)
    tracker.remember(state)
    return state


def test_kept_campuses_are_the_active_and_public_ones_sorted() -> None:
    pages = [
        [campus(9), campus(2, active=False), campus(5, public=False)],
        [campus(1), campus(7, active=False, public=False), campus(3, active=None)],
    ]
    assert remember("campus", pages, {}) == {"scope": {"campuses": [1, 9]}}


def test_no_kept_campus_is_an_empty_scope_not_a_missing_one() -> None:
    state = remember("campus", [[campus(1, active=False)]], {})
    assert state["scope"]["campuses"] == []


def test_coalitions_are_those_of_blocs_at_kept_campuses() -> None:
    state = remember("campus", [[campus(1), campus(2, public=False), campus(3)]], {})
    blocs = [[bloc(10, 1, 101, 102), bloc(20, 2, 201)], [bloc(30, 3, 302, 301), bloc(40, 4, 401)]]
    remember("blocs", blocs, state)
    assert state["scope"] == {"campuses": [1, 3], "coalitions": [101, 102, 301, 302]}


def test_blocs_before_any_campus_snapshot_keep_no_coalition() -> None:
    assert remember("blocs", [[bloc(10, 1, 101)]], {}) == {"scope": {"coalitions": []}}


def test_a_new_campus_snapshot_replaces_the_kept_campuses_but_not_the_coalitions() -> None:
    """Each snapshot rewrites only its own part: the coalitions follow on the blocs run."""
    state = {"scope": {"campuses": [1, 2], "coalitions": [5]}, "other": "kept"}
    remember("campus", [[campus(2)]], state)
    assert state == {"scope": {"campuses": [2], "coalitions": [5]}, "other": "kept"}


def test_other_resources_neither_collect_nor_change_the_scope() -> None:
    state = {"scope": {"campuses": [1]}}
    for resource in ("cursus", "projects", "achievements"):
        tracker = ScopeTracker(resource)
        tracker.see([campus(8)])
        assert tracker.rows == []
        tracker.remember(state)
    assert state == {"scope": {"campuses": [1]}}


campuses = st.dictionaries(st.integers(1, 60), st.tuples(st.booleans(), st.booleans()))
# (campus id, number of coalitions) per bloc; a coalition belongs to one bloc
blocs_of = st.lists(st.tuples(st.integers(1, 70), st.integers(0, 4)), max_size=30)


@settings(max_examples=200, deadline=None, database=None)
@given(campuses=campuses, blocs=blocs_of, page_size=st.integers(1, 10))
def test_the_scope_matches_the_rule_however_the_snapshots_are_paged(
    campuses, blocs, page_size
) -> None:
    rows = [campus(i, active, public) for i, (active, public) in campuses.items()]
    coalitions = [[10 * n + k for k in range(count)] for n, (_, count) in enumerate(blocs)]
    bloc_rows = [bloc(n, c, *coalitions[n]) for n, (c, _) in enumerate(blocs)]

    def paged(items):
        return [items[i : i + page_size] for i in range(0, len(items), page_size)]

    state = remember("campus", paged(rows), {})
    remember("blocs", paged(bloc_rows), state)
    kept = sorted(i for i, (active, public) in campuses.items() if active and public)
    assert state["scope"]["campuses"] == kept
    expected = sorted(
        c for n, (campus_id, _) in enumerate(blocs) if campus_id in kept for c in coalitions[n]
    )
    assert state["scope"]["coalitions"] == expected
