-- Kept campuses whose time zone PostgreSQL does not know: their sessions are
-- left out of logtime (see tests/_singular_tests.yml). The rows are stored in
-- elt.campuses_with_an_unknown_time_zone, from which the run names them.

{{
    config(
        severity='warn',
        store_failures=true,
        schema='elt',
        alias='campuses_with_an_unknown_time_zone',
    )
}}

select
    campus_id,
    name,
    served_time_zone as time_zone
from {{ ref('int_campuses__time_zones') }}
where time_zone is null
