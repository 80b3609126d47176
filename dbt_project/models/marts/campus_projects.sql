with

project_campuses as (

    select * from {{ ref('stg_intra__project_campuses') }}

),

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

kept_projects as (

    select * from {{ ref('int_projects__kept') }}

),

final as (

    select
        project_campuses.campus_id,
        project_campuses.project_id
    from project_campuses
    inner join kept_campuses
        on project_campuses.campus_id = kept_campuses.campus_id
    inner join kept_projects
        on project_campuses.project_id = kept_projects.project_id

)

select * from final
