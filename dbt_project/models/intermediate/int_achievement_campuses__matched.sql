-- Every campus name of every achievement, with the kept campus it names:
-- trimmed names, exact (case-sensitive) equality. `campus_id` is null when the
-- name matches no kept campus; those names are dropped from the marts and
-- counted by the ELT.

with

campus_names as (

    select * from {{ ref('stg_intra__achievement_campus_names') }}

),

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

kept_names as (

    select
        campus_id,
        regexp_replace(name, '^\s+|\s+$', '', 'g') as campus_name_trimmed
    from kept_campuses

),

matched as (

    select
        campus_names.achievement_id,
        campus_names.list_position,
        campus_names.campus_name,
        kept_names.campus_id
    from campus_names
    left join kept_names
        on campus_names.campus_name_trimmed = kept_names.campus_name_trimmed

)

select * from matched
