"""The scope the live resources are narrowed to, as the reference snapshots define it."""

from __future__ import annotations


class ScopeTracker:
    """Remembers, from the reference snapshots, the scope the live resources are narrowed to:
    the kept campuses (active and public) and the coalitions of the cursus's blocs there.

    This mirrors dbt's rules only to save API calls (the history of closed campuses is large);
    the rules themselves stay in dbt, which filters again."""

    def __init__(self, resource: str) -> None:
        self.resource = resource
        self.rows: list[dict] = []

    def see(self, page: list[dict]) -> None:
        if self.resource in ("campus", "blocs"):
            self.rows.extend(page)

    def remember(self, source_state: dict) -> None:
        scope = source_state.setdefault("scope", {})
        if self.resource == "campus":
            scope["campuses"] = sorted(c["id"] for c in self.rows if c["active"] and c["public"])
        elif self.resource == "blocs":
            kept = set(scope.get("campuses", []))
            scope["coalitions"] = sorted(
                c["id"]
                for bloc in self.rows
                if bloc["campus_id"] in kept
                for c in bloc["coalitions"]
            )
