"""``intra-elt run`` / ``full`` (``make elt`` hourly, ``make elt-full`` weekly): one run, for cron.

1. Take the run lock (a second, overlapping run exits at once with code 75).
2. Check the settings and the API (a token, the cursus), then resolve the database
   (configured DSN, or the embedded PostgreSQL): a setting to fix is named, and nothing starts.
3. Extract and load each resource of the ``intra`` source into schema ``raw``, one dlt load
   per resource: reference snapshots first (they define the kept scope), then the live
   resources, incrementally (``intra-elt full``: re-read in full, deleting what the API dropped).
   A resource that fails leaves its table exactly as it was while the others still land.
4. Index the raw tables (``raw_indexes``), then erase the personal fields of anonymized
   users in ``raw`` (``privacy``).
5. ``dbt build``: models and their tests (``--full-refresh`` after a full run); an
   error-severity test failure fails the run.
6. Print API calls per resource against the minimum, rows, seconds per stage.

The modules: ``orchestration`` (the steps above, under the run lock of ``run_lock``),
``connect`` with ``preflight`` (settings and the API checked), ``extract_load`` (one dlt load
per resource, its ``progress`` and ``stages`` clock), ``raw_indexes``, ``privacy``,
``publish`` (the swap into ``marts``), ``ledger`` (``elt.runs``), ``outcome`` (results,
report, ledger row), ``output`` (what the run prints and logs) and ``errors`` (naming
exceptions). The command line is ``pipelines.cli``; exit codes are
``pipelines.config.ExitCode``.
"""
