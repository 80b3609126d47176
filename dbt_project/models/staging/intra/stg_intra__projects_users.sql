-- Project registrations, with what their teams say of the attempts: each team
-- of a registration is one attempt of its student (the first is the earliest,
-- by created_at then id), so that a first-try pass rate counts the first
-- attempt, whatever the registration's `occurrence` (the current attempt) is.

with

source as (

    {{ live_source_rows('projects_users') }}

),

renamed as (

    select
        ---------- ids
        source.id as projects_user_id,
        (source."user" ->> 'id')::bigint as user_id,
        (source.project ->> 'id')::bigint as project_id,
        source.current_team_id,

        ---------- text
        source.status,
        attempts.first_team ->> 'status' as first_attempt_status,

        ---------- numerics
        source.occurrence,
        source.final_mark,
        attempts.attempts,
        (attempts.first_team ->> 'final_mark')::integer
            as first_attempt_final_mark,

        ---------- booleans
        source.is_validated,
        source.marked as is_marked,
        (attempts.first_team ->> 'validated?')::boolean
            as first_attempt_is_validated,
        attempts.has_finished_attempt,
        attempts.has_validated_attempt,

        ---------- json
        source.cursus_ids,

        ---------- timestamps
        source.marked_at,
        source.retriable_at,
        source.created_at,
        source.updated_at,

        ---------- load
        source._dlt_load_id as load_id

    from source
    cross join lateral (
        select
            count(*)::integer as attempts,
            (array_agg(
                teams.team
                order by
                    teams.team ->> 'created_at',
                    (teams.team ->> 'id')::bigint
            ))[1] as first_team,
            coalesce(bool_or(teams.team ->> 'status' = 'finished'), false)
                as has_finished_attempt,
            coalesce(bool_or((teams.team ->> 'validated?')::boolean), false)
                as has_validated_attempt
        from
            jsonb_array_elements(coalesce(source.teams, '[]'::jsonb))
                as teams (team)
    ) as attempts

)

select * from renamed
