-- The students: kind `student`, not alumni, campus kept (the primary one, else
-- the latest: int_users__primary_campus), enrolled in the cursus. Incremental:
-- each run rewrites only the users whose data changed in a newer load, who
-- entered the population, or whose anonymization date has just passed.

{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['user_id'], 'unique': True},
            {'columns': ['_processed_load_id']},
        ],
        pre_hook="{{ delete_rows_of_users_out_of_scope() }}",
    )
}}

with

-- Not materialized: used twice below, PostgreSQL would otherwise copy the whole
-- table once instead of reading only the new loads through the raw indexes.
users as not materialized (

    select * from {{ ref('stg_intra__users') }}

),

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

batch as (

    select users.*
    from users
    {% if is_incremental() %}
        where users.load_id > {{ processed_load_id() }}
        union
        select users.*
        from users
        inner join in_scope
            on users.user_id = in_scope.user_id
        where in_scope.scope_changed_load_id > {{ processed_load_id() }}
        union
        select users.*
        from users
        inner join {{ this }} as published
            on users.user_id = published.user_id
        where users.is_anonymized and not published.is_anonymized
    {% endif %}

),

final as (

    select
        batch.user_id,
        batch.login,
        batch.first_name,
        batch.last_name,
        batch.usual_full_name,
        batch.usual_first_name,
        batch.displayname,
        batch.email,
        batch.image_url,
        batch.location,
        batch.kind,
        in_scope.primary_campus_id as campus_id,
        batch.pool_month,
        batch.pool_year,
        batch.wallet,
        batch.correction_point,
        batch.is_active,
        batch.is_anonymized,
        batch.anonymize_date,
        batch.created_at,
        batch.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join in_scope
        on batch.user_id = in_scope.user_id

)

select * from final
