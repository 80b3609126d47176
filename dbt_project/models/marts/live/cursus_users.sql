-- The students' enrolment in the configured cursus: level, grade, blackhole
-- date. A live mart (live_mart_batch).

with

batch as (

    {{ live_mart_batch(
        'stg_intra__cursus_users', unique_key='cursus_user_id'
    ) }}

),

final as (

    select
        cursus_user_id,
        user_id,
        cursus_id,
        level,
        grade,
        blackholed_at,
        begin_at,
        end_at,
        has_coalition,
        skills,
        created_at,
        updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    where cursus_id = {{ var('cursus_id') }}

)

select * from final
