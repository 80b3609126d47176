-- The students' coalition memberships (coalitions of the coalitions mart),
-- score and rank.

{{
    config(
        materialized='incremental',
        unique_key='coalitions_user_id',
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['coalitions_user_id'], 'unique': True},
            {'columns': ['user_id']},
            {'columns': ['_processed_load_id']},
        ],
        pre_hook="{{ delete_rows_of_users_out_of_scope() }}",
        post_hook="{{ delete_rows_outside('coalition_id', 'coalitions') }}",
    )
}}

with

-- Not materialized: used twice below, PostgreSQL would otherwise copy the whole
-- table once instead of reading only the new loads through the raw indexes.
coalitions_users as not materialized (

    select * from {{ ref('stg_intra__coalitions_users') }}

),

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

coalitions as (

    select * from {{ ref('coalitions') }}

),

batch as (

    select coalitions_users.*
    from coalitions_users
    {% if is_incremental() %}
        where coalitions_users.load_id > {{ processed_load_id() }}
        union
        select coalitions_users.*
        from coalitions_users
        inner join in_scope
            on coalitions_users.user_id = in_scope.user_id
        where in_scope.scope_changed_load_id > {{ processed_load_id() }}
    {% endif %}

),

final as (

    select
        batch.coalitions_user_id,
        batch.user_id,
        batch.coalition_id,
        batch.score,
        batch.rank,
        batch.created_at,
        batch.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join in_scope
        on batch.user_id = in_scope.user_id
    inner join coalitions
        on batch.coalition_id = coalitions.coalition_id

)

select * from final
