-- Projects of the configured cursus that at least one kept campus offers.

with

projects as (

    select * from {{ ref('stg_intra__projects') }}

),

project_cursus as (

    select * from {{ ref('stg_intra__project_cursus') }}

),

project_campuses as (

    select * from {{ ref('stg_intra__project_campuses') }}

),

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

in_cursus as (

    select distinct project_id
    from project_cursus
    where cursus_id = {{ var('cursus_id') }}

),

at_a_kept_campus as (

    select distinct project_campuses.project_id
    from project_campuses
    inner join kept_campuses
        on project_campuses.campus_id = kept_campuses.campus_id

),

kept as (

    select projects.*
    from projects
    inner join in_cursus
        on projects.project_id = in_cursus.project_id
    inner join at_a_kept_campus
        on projects.project_id = at_a_kept_campus.project_id

)

select * from kept
