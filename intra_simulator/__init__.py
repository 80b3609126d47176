"""A local, deterministic stand-in for the 42 intranet API v2 (api.intra.42.fr).

It is a real HTTP server (``python -m intra_simulator``) that speaks the same protocol as the
real API: OAuth2 client credentials, page-numbered JSON arrays with ``X-Total``/``Link``
headers, per-application rate limits with 429s, the rice_cooker ``filter``/``range``/``sort``
language, injectable faults and a clock that can be moved forward. Its objects have exactly the
keys, nesting and value types of the real payloads kept in ``tests/fixtures/intra_samples``.

Modules, one concept each, from the ground up (each imports only modules listed above it):

- ``catalog``: real-world reference facts (campuses, languages, cursus) the data is built on.
- ``names``: the names generated records draw from (projects, coalitions, achievements, people).
- ``generate``: the scale presets, and the reference data built from a scale and a seed.
- ``logtime``: a user's time on campus per local day (``locations_stats``), from their sessions.
- ``population``: the people and their records, and the builder that adds more people later.
- ``query``: filter/range/sort/pagination semantics and their error messages.
- ``store``: the collections of records, their indexes, queries (select, find) and changes.
- ``render``: how each stored record is served as the API's JSON object.
- ``routes``: the API's URL routes, each a listing or an object of the store.
- ``activity``: what people and staff change on the intra while time passes (retries too).
- ``locations``: people's sessions at campus seats: the history, and sessions as time passes.
- ``world``: the clock, and the world that ties store, routes and activity together.
- ``oauth``: applications, token issue/reuse/expiry/revocation.
- ``ratelimit``: per-application secondly and hourly limits.
- ``faults``: fault injection rules (5xx, timeouts, malformed JSON, duplicates, ...).
- ``server``: the HTTP server: the API's protocol and the admin routes.
- ``__main__``: the command line (``python -m intra_simulator``).
- ``control``: starting a simulator process and driving its admin routes, for scripts and tests.
"""
