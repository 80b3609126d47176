-- The rows of raw.projects_users the API deleted (tombstones found by a
-- full run), with the load that found them: what the mart of
-- projects_users deletes (macros/live_sources.sql).

{{ deleted_source_rows('projects_users') }}
