-- Rule: marts.campus_projects holds exactly the (campus, project) pairs listed
-- in the raw projects where the campus is kept and the project is published.

with

kept_campus_ids as (

    select campus_id from ({{ raw_kept_campuses() }}) as kept

),

expected as (

    select distinct
        (campus.value ->> 'id')::bigint as campus_id,
        projects.id as project_id
    from {{ source('intra', 'projects') }} as projects
    cross join lateral jsonb_array_elements(projects.campus) as campus
    where
        (campus.value ->> 'id')::bigint in (
            select kept_campus_ids.campus_id from kept_campus_ids
        )
        and projects.id in (
            select published_projects.project_id
            from {{ ref('projects') }} as published_projects
        )

),

published as (

    select
        campus_id,
        project_id
    from {{ ref('campus_projects') }}

),

missing as (

    select * from expected
    except
    select * from published

),

extra as (

    select * from published
    except
    select * from expected

)

select
    campus_id,
    project_id,
    'kept link missing' as problem
from missing
union all
select
    campus_id,
    project_id,
    'link to a dropped campus or project' as problem
from extra
