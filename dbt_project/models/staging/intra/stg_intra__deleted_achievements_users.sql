-- The rows of raw.achievements_users the API deleted (tombstones found by a
-- full run), with the load that found them: what the mart of
-- achievements_users deletes (macros/live_sources.sql).

{{ deleted_source_rows('achievements_users') }}
