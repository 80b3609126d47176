-- One row per session nested in a project's `project_sessions` array.

with

source as (

    select * from {{ source('intra', 'projects') }}

),

unnested as (

    select
        source.id as project_id,
        project_session.value as project_session
    from source
    cross join
        lateral jsonb_array_elements(
            source.project_sessions
        ) as project_session

),

renamed as (

    select
        ---------- ids
        (project_session ->> 'id')::bigint as project_session_id,
        project_id,
        (project_session ->> 'campus_id')::bigint as campus_id,
        (project_session ->> 'cursus_id')::bigint as cursus_id,

        ---------- text
        project_session ->> 'estimate_time' as estimate_time,
        project_session ->> 'description' as description,
        project_session ->> 'team_behaviour' as team_behaviour,
        project_session ->> 'commit' as commit_hash,

        ---------- numerics
        (project_session ->> 'difficulty')::bigint as difficulty,
        (project_session ->> 'duration_days')::bigint as duration_days,
        (project_session ->> 'terminating_after')::bigint as terminating_after,
        (project_session ->> 'max_people')::bigint as max_people,

        ---------- booleans
        (project_session ->> 'solo')::boolean as is_solo,
        (project_session ->> 'is_subscriptable')::boolean as is_subscriptable,

        ---------- json
        project_session -> 'objectives' as objectives,
        project_session -> 'scales' as scales,
        project_session -> 'uploads' as uploads,

        ---------- timestamps
        (project_session ->> 'begin_at')::timestamptz as begin_at,
        (project_session ->> 'end_at')::timestamptz as end_at,
        (project_session ->> 'created_at')::timestamptz as created_at,
        (project_session ->> 'updated_at')::timestamptz as updated_at

    from unnested

)

select * from renamed
