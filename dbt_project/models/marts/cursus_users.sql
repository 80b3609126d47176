-- The students' enrolment in the configured cursus: level, grade, blackhole
-- date.

{{
    config(
        materialized='incremental',
        unique_key='cursus_user_id',
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['cursus_user_id'], 'unique': True},
            {'columns': ['user_id']},
            {'columns': ['_processed_load_id']},
        ],
        pre_hook="{{ delete_rows_of_users_out_of_scope() }}",
    )
}}

with

-- Not materialized: used twice below, PostgreSQL would otherwise copy the whole
-- table once instead of reading only the new loads through the raw indexes.
cursus_users as not materialized (

    select * from {{ ref('stg_intra__cursus_users') }}
    where cursus_id = {{ var('cursus_id') }}

),

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

batch as (

    select cursus_users.*
    from cursus_users
    {% if is_incremental() %}
        where cursus_users.load_id > {{ processed_load_id() }}
        union
        select cursus_users.*
        from cursus_users
        inner join in_scope
            on cursus_users.user_id = in_scope.user_id
        where in_scope.scope_changed_load_id > {{ processed_load_id() }}
    {% endif %}

),

final as (

    select
        batch.cursus_user_id,
        batch.user_id,
        batch.cursus_id,
        batch.level,
        batch.grade,
        batch.blackholed_at,
        batch.begin_at,
        batch.end_at,
        batch.has_coalition,
        batch.skills,
        batch.created_at,
        batch.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join in_scope
        on batch.user_id = in_scope.user_id

)

select * from final
