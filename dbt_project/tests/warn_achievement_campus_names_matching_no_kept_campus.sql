-- Not an error: achievement campus names that match no kept campus (closed
-- campuses, private ones, names of campuses that no longer exist). They are
-- dropped from the marts; this warning says how many, so a new campus spelled
-- differently gets noticed.
{{ config(severity='warn') }}

select
    achievement_id,
    campus_name
from {{ ref('int_achievement_campuses__matched') }}
where campus_id is null
