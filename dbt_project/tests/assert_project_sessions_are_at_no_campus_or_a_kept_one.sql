-- Rule: marts.project_sessions holds exactly the sessions of published projects
-- whose campus is null (default session) or active and public.

with

kept_campus_ids as (

    select campus_id from ({{ raw_kept_campuses() }}) as kept

),

expected as (

    select (project_session.value ->> 'id')::bigint as project_session_id
    from {{ source('intra', 'projects') }} as projects
    cross join
        lateral jsonb_array_elements(
            projects.project_sessions
        ) as project_session
    where
        projects.id in (
            select published_projects.project_id
            from {{ ref('projects') }} as published_projects
        )
        and (
            project_session.value ->> 'campus_id' is null
            or (project_session.value ->> 'campus_id')::bigint in (
                select kept_campus_ids.campus_id from kept_campus_ids
            )
        )

),

published as (

    select project_session_id from {{ ref('project_sessions') }}

),

missing as (

    select project_session_id from expected
    except
    select project_session_id from published

),

extra as (

    select project_session_id from published
    except
    select project_session_id from expected

)

select
    project_session_id,
    'kept session missing' as problem
from missing
union all
select
    project_session_id,
    'session of a dropped project or campus' as problem
from extra
