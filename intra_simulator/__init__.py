"""A local, deterministic stand-in for the 42 intranet API v2 (api.intra.42.fr).

It is a real HTTP server (``python -m intra_simulator``) that speaks the same protocol as the
real API: OAuth2 client credentials, page-numbered JSON arrays with ``X-Total``/``Link``
headers, per-application rate limits with 429s, the rice_cooker ``filter``/``range``/``sort``
language, injectable faults and a clock that can be moved forward. Its objects have exactly the
keys, nesting and value types of the real payloads kept in ``tests/fixtures/intra_samples``.

Modules, one concept each:

- ``catalog``: real-world reference facts (campus names, languages, cursus) the data is built on.
- ``generate``: builds a deterministic world from a scale preset and a seed.
- ``world``: the in-memory store, rendering of API objects, and the routes' collections.
- ``query``: filter/range/sort/pagination semantics and their error messages.
- ``oauth``: applications, token issue/reuse/expiry/revocation.
- ``ratelimit``: per-application secondly and hourly limits.
- ``faults``: fault injection rules (5xx, timeouts, malformed JSON, duplicates, ...).
- ``server``: the HTTP server, routing and admin routes.
"""
