-- The rows of raw.cursus_users the API deleted (tombstones found by a
-- full run), with the load that found them: what the mart of
-- cursus_users deletes (macros/live_sources.sql).

{{ deleted_source_rows('cursus_users') }}
