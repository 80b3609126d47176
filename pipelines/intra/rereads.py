"""Records an overlapping window reads again, unchanged: not loaded twice.

Each window reaches back ``overlap`` before the last one's end, to catch records committed
late. So every record changed in the last minutes is read again by the next windows. Loading
it again would change nothing in raw, but the load would count as a change: a watch tick would
run a dbt build for it, every minute, for as long as the overlap lasts.

The resource state keeps, for the records a window read whose stamp is inside the overlap
(``recent``: id -> [stamp, fingerprint of the record as served]), what was loaded. A record
read again with the same fingerprint is skipped; any difference, silent changes included,
loads it. The state is saved with the load that holds the records, so a skipped record is
always one raw already has. Entries older than the next window's start are dropped: no window
reads them again unless they change, and a changed record has a new fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from pipelines.intra.stamps import parse


def fingerprint(record: dict) -> str:
    encoded = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.blake2b(encoded, digest_size=12).hexdigest()


class Rereads:
    """The ``recent`` part of a resource's state, and the pages filtered through it."""

    def __init__(self, state: dict, stamp_of: Callable[[dict], str | None]) -> None:
        self.state = state
        self.stamp_of = stamp_of  # the record's moment, ISO 8601 (updated_at, end of session)
        self.skipped = 0

    def changed(self, records: list[dict]) -> list[dict]:
        """The records that are new or differ from what was loaded; remembers them."""
        recent = self.state.setdefault("recent", {})
        kept = []
        for record in records:
            key, mark = str(record["id"]), fingerprint(record)
            if recent.get(key, [None, None])[1] == mark:
                self.skipped += 1
                continue
            recent[key] = [self.stamp_of(record) or "", mark]
            kept.append(record)
        return kept

    def forget_before(self, moment: str) -> None:
        """Drop the records stamped before ``moment`` (the next window's start)."""
        recent = self.state.get("recent")
        if recent is None:
            return
        bound = parse(moment)
        self.state["recent"] = {
            key: entry for key, entry in recent.items() if entry[0] and parse(entry[0]) >= bound
        }
