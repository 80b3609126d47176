"""``make bench``: the ELT measured against its physical limits.

For this system the hard limit is the API quota: 2 requests/s and 1,200/h per application,
100 records per page. A sync can never need fewer calls than the sum of ceil(records/100) per
endpoint, nor finish faster than its calls at the allowed rate; everything on our side
(parsing, normalizing, loading, dbt) must be cheap enough that the quota alone sets the pace.

Scenarios (``bench.scenarios``), each timed ``--repeats`` times (median reported), against the
simulator at ``network`` scale and an embedded PostgreSQL, results in ``bench/results.json``:

1. full backfill, rate limit lifted: our own CPU per stage, per page and per 1,000 records;
2. the same with the real per-second limit (hourly limit scaled down so the run lasts a few
   minutes): how much of the allowed rate we use, and 429s;
3. an hourly incremental run after a simulated hour of activity (about 3% of students):
   calls against the minimum, dbt seconds against a full refresh;
4. an incremental run with nothing changed;
5. the same raw JSON loaded with a single COPY into a jsonb table, the fastest way in.
"""
