-- The achievements the students earned (of the achievements mart). A live mart
-- (live_mart_batch).

with

batch as (

    {{ live_mart_batch(
        'stg_intra__achievements_users',
        unique_key='achievements_user_id',
        reference=('achievement_id', 'achievements'),
    ) }}

),

achievements as (

    select * from {{ ref('achievements') }}

),

final as (

    select
        batch.achievements_user_id,
        batch.user_id,
        batch.achievement_id,
        batch.nbr_of_success,
        batch.created_at,
        batch.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join achievements
        on batch.achievement_id = achievements.achievement_id

)

select * from final
