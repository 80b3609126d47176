-- Kept campuses whose time zone PostgreSQL does not know: their sessions are
-- left out of logtime (see tests/_singular_tests.yml).

{{ config(severity='warn') }}

select
    campus_id,
    name,
    time_zone
from {{ ref('campuses') }}
where
    time_zone is null
    or time_zone not in (
        select known.name from pg_catalog.pg_timezone_names as known
    )
