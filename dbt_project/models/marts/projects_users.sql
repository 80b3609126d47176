-- The students' projects: status, final mark, validation, attempts, marking
-- date.

{{
    config(
        materialized='incremental',
        unique_key='projects_user_id',
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['projects_user_id'], 'unique': True},
            {'columns': ['user_id']},
            {'columns': ['_processed_load_id']},
        ],
        pre_hook="{{ delete_rows_of_users_out_of_scope() }}",
        post_hook="{{ delete_rows_outside('project_id', 'projects') }}",
    )
}}

with

-- Not materialized: used twice below, PostgreSQL would otherwise copy the whole
-- table once instead of reading only the new loads through the raw indexes.
projects_users as not materialized (

    select * from {{ ref('stg_intra__projects_users') }}

),

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

projects as (

    select * from {{ ref('projects') }}

),

batch as (

    select projects_users.*
    from projects_users
    {% if is_incremental() %}
        where projects_users.load_id > {{ processed_load_id() }}
        union
        select projects_users.*
        from projects_users
        inner join in_scope
            on projects_users.user_id = in_scope.user_id
        where in_scope.scope_changed_load_id > {{ processed_load_id() }}
    {% endif %}

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
        batch.created_at,
        batch.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join in_scope
        on batch.user_id = in_scope.user_id
    inner join projects
        on batch.project_id = projects.project_id

)

select * from final
