"""Fault injection: the ways the real API and its network misbehave, on demand.

A fault is a rule: *which* requests it applies to (a path prefix), *when* it fires (a
probability, the n-th matching requests, or every one after the ``after``-th; at most
``times`` times), and *what* happens. Decisions come from a random stream seeded per rule,
so a test run is reproducible.

A rule with a ``client`` applies only to the requests of that app (its uid): two clients of
one simulator, one faulted and one not (the soak's runner and its clean twin).

A rule counts (and fires on) the requests that reach what it breaks: ``revoke`` every
request of its path, before the token is checked; the others only the requests that passed
the token check and the rate limit (a request refused with a 401 or a 429 uses up no
n-th). Otherwise a rule could fire, unseen, on a request refused anyway, and a test could
not count on its n-th request.

Kinds:

- ``status``: answer with ``status`` (500, 502 with an HTML body, 503, 504).
- ``timeout``: wait ``delay`` seconds before answering (longer than the client's timeout).
- ``malformed``: 200 with a body that is not valid JSON.
- ``truncate``: announce the full ``Content-Length``, send half the body, close the connection.
- ``duplicate``: start the page ``rows`` records early, repeating rows of the previous page.
- ``revoke``: revoke the live tokens before handling the request (the client sees 401).
- ``delete``: before answering, delete ``rows`` records the client has already been served on
  an earlier page of this listing (shifts later pages for page-number pagination).
- ``touch``: before answering, change ``rows`` records the client has not been served yet
  (their ``updated_at`` moves to now, out of any window the client is reading).
- ``heavy``: a page of more than ``rows`` records is too heavy to render in time: the answer
  is the gateway's HTML 504, sent after ``delay`` seconds (a ``delay`` longer than the
  client's timeout makes it a timeout). Smaller pages are served normally, so a client that
  cuts its page size gets through. Give it ``after: 0`` to hit every request of the path.
- ``refuse``: the API stops accepting the query parameter ``param`` (``filter[campus]``):
  a request carrying it gets the query layer's 400 ("Filter Error", "Range Error" or
  "Sort Error", by the parameter's kind), as for a field that does not exist.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = (
    "status",
    "timeout",
    "malformed",
    "truncate",
    "duplicate",
    "revoke",
    "delete",
    "touch",
    "heavy",
    "refuse",
)


@dataclass
class FaultRule:
    kind: str
    path: str = "/v2/"
    rate: float = 0.0
    nth: list[int] = field(default_factory=list)
    after: int | None = None
    times: int | None = None
    status: int = 500
    delay: float = 0.0
    rows: int = 1
    param: str = ""
    client: str = ""  # only this app's requests ("" for every app's)
    matched: int = 0
    fired: int = 0

    @classmethod
    def from_dict(cls, spec: dict) -> FaultRule:
        known = {
            *("kind", "path", "rate", "nth", "after", "times"),
            *("status", "delay", "rows", "param", "client"),
        }
        unknown = set(spec) - known
        if unknown or spec.get("kind") not in KINDS:
            raise ValueError(
                f"bad fault rule {spec!r}: kind must be one of {KINDS}, keys {sorted(known)}"
            )
        return cls(**{k: v for k, v in spec.items() if k in known})


class Faults:
    """The active fault rules; ``pick`` says which one (if any) applies to a request."""

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self.rules: list[FaultRule] = []
        self._rngs: list[random.Random] = []
        self._lock = threading.Lock()

    def set(self, specs: list[dict]) -> None:
        rules = [FaultRule.from_dict(spec) for spec in specs]
        with self._lock:
            self.rules = rules
            self._rngs = [random.Random(f"{self.seed}:fault:{i}") for i in range(len(rules))]

    def pick(self, path: str, revoke: bool = False, client: str = "") -> FaultRule | None:
        """The rule that fires on this request of app ``client``, if any: among the
        ``revoke`` rules (asked before the token check), or among the others (asked once the
        request is admitted)."""
        with self._lock:
            for rule, rng in zip(self.rules, self._rngs, strict=True):
                if not path.startswith(rule.path) or (rule.kind == "revoke") != revoke:
                    continue
                if rule.client and rule.client != client:
                    continue
                rule.matched += 1
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                persistent = rule.after is not None and rule.matched > rule.after
                if (
                    persistent
                    or rule.matched in rule.nth
                    or (rule.rate and rng.random() < rule.rate)
                ):
                    rule.fired += 1
                    return rule
            return None

    def report(self) -> list[dict]:
        with self._lock:
            return [
                {
                    "kind": r.kind,
                    "path": r.path,
                    "client": r.client,
                    "matched": r.matched,
                    "fired": r.fired,
                }
                for r in self.rules
            ]
