-- The achievements the students earned (achievements of the achievements mart
-- only).

{{
    config(
        materialized='incremental',
        unique_key='achievements_user_id',
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['achievements_user_id'], 'unique': True},
            {'columns': ['user_id']},
            {'columns': ['_processed_load_id']},
        ],
        pre_hook="{{ delete_rows_of_users_out_of_scope() }}",
        post_hook="{{ delete_rows_outside('achievement_id', 'achievements') }}",
    )
}}

with

-- Not materialized: used twice below, PostgreSQL would otherwise copy the whole
-- table once instead of reading only the new loads through the raw indexes.
achievements_users as not materialized (

    select * from {{ ref('stg_intra__achievements_users') }}

),

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

achievements as (

    select * from {{ ref('achievements') }}

),

batch as (

    select achievements_users.*
    from achievements_users
    {% if is_incremental() %}
        where achievements_users.load_id > {{ processed_load_id() }}
        union
        select achievements_users.*
        from achievements_users
        inner join in_scope
            on achievements_users.user_id = in_scope.user_id
        where in_scope.scope_changed_load_id > {{ processed_load_id() }}
    {% endif %}

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
    inner join in_scope
        on batch.user_id = in_scope.user_id
    inner join achievements
        on batch.achievement_id = achievements.achievement_id

)

select * from final
