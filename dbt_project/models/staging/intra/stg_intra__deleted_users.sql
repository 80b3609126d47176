-- The rows of raw.users the API deleted (tombstones found by a
-- full run), with the load that found them: what the mart of
-- users deletes (macros/live_sources.sql).

{{ deleted_source_rows('users') }}
