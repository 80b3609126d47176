with

sessions as (

    select * from {{ ref('stg_intra__project_sessions') }}

),

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

kept_projects as (

    select * from {{ ref('int_projects__kept') }}

),

final as (

    select
        sessions.project_session_id,
        sessions.project_id,
        sessions.campus_id,
        sessions.cursus_id,
        sessions.is_solo,
        sessions.is_subscriptable,
        sessions.team_behaviour,
        sessions.estimate_time,
        sessions.difficulty,
        sessions.duration_days,
        sessions.terminating_after,
        sessions.max_people,
        sessions.description,
        sessions.objectives,
        sessions.scales,
        sessions.uploads,
        sessions.commit_hash,
        sessions.begin_at,
        sessions.end_at,
        sessions.created_at,
        sessions.updated_at
    from sessions
    inner join kept_projects
        on sessions.project_id = kept_projects.project_id
    left join kept_campuses
        on sessions.campus_id = kept_campuses.campus_id
    where
        sessions.campus_id is null
        or kept_campuses.campus_id is not null

)

select * from final
