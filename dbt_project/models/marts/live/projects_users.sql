-- The students' projects (of the projects mart): status, final mark,
-- validation, attempts (and the first one's outcome, from the teams), marking
-- date. A live mart (live_mart_batch).

with

batch as (

    {{ live_mart_batch(
        'stg_intra__projects_users',
        unique_key='projects_user_id',
        reference=('project_id', 'projects'),
    ) }}

),

projects as (

    select * from {{ ref('projects') }}

),

final as (

    select
        batch.projects_user_id,
        batch.user_id,
        batch.project_id,
        batch.status,
        batch.final_mark,
        batch.is_validated,
        batch.occurrence,
        batch.is_marked,
        batch.marked_at,
        batch.retriable_at,
        batch.current_team_id,
        batch.attempts,
        batch.first_attempt_status,
        batch.first_attempt_is_validated,
        batch.first_attempt_final_mark,
        batch.has_finished_attempt,
        batch.has_validated_attempt,
        batch.created_at,
        batch.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join projects
        on batch.project_id = projects.project_id

)

select * from final
