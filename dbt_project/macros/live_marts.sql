{#
    The incremental live marts (users, cursus_users, projects_users,
    achievements_users) are built by one macro, live_mart_batch: each model is a
    CTE `batch` from it, the join to its reference mart, and its columns.
    Documented in macros/_macros.yml.

    Every row of those marts records in `_processed_load_id` the newest dlt load
    that existed when the row was written (current_load_id); the largest value
    in a mart is therefore the last load it has processed (processed_load_id),
    and the next run only reads rows of newer loads (dlt load ids are Unix
    timestamps as text, of equal integer width, so text order is time order).
    The `_processed_load_id` index of each live mart makes that maximum a lookup,
    and the ELT indexes the raw tables on load and user id
    (pipelines/run/raw_indexes.py), so the batch reads only what it needs.
#}

{% macro live_mart_batch(
    staging_model, unique_key, reference=none, newly_true=none, post_hooks=[],
    pre_hooks=[], indexes=[]
) -%}
    {%- set deletions_model = staging_model.replace(
        'stg_intra__', 'stg_intra__deleted_'
    ) -%}
    {%- set hooks = post_hooks | list -%}
    {%- if reference -%}
        {%- do hooks.append(
            "{{ live_mart_delete_rows_outside('"
            ~ reference[0] ~ "', '" ~ reference[1] ~ "') }}"
        ) -%}
    {%- endif -%}
    {{- config(
        materialized='incremental',
        unique_key=unique_key,
        incremental_strategy='delete+insert',
        indexes=[{'columns': [unique_key], 'unique': True}]
        + ([{'columns': ['user_id']}] if unique_key != 'user_id' else [])
        + [{'columns': ['_processed_load_id']}] + indexes,
        pre_hook=[
            "{{ live_mart_delete_users_out_of_scope() }}",
            "{{ live_mart_delete_deleted_rows('"
            ~ deletions_model ~ "', '" ~ unique_key ~ "') }}",
        ] + pre_hooks,
        post_hook=hooks,
    ) -}}

-- depends_on: {{ ref(deletions_model) }} (read by a pre-hook)

with

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

-- The staging view is read once per branch rather than through a CTE:
-- PostgreSQL then reads only the new loads, through the raw indexes.
changed as (

    select live_rows.*
    from {{ ref(staging_model) }} as live_rows
    {% if is_incremental() %}
        where live_rows.load_id > {{ processed_load_id() }}
        union
        -- The rows of the users whose scope changed, one user at a time through
        -- the raw index on user id (`offset 0` keeps the subquery from being
        -- flattened into a join): PostgreSQL cannot tell how few users that is and
        -- planned a join that derived every row of the staging view (projects_users
        -- at network scale: 17 s a watch tick, 0.04 s this way).
        select live_rows.*
        from in_scope as moved
        cross join lateral (
            select *
            from {{ ref(staging_model) }} as rows_of_user
            where rows_of_user.user_id = moved.user_id
            offset 0
        ) as live_rows
        where moved.scope_changed_load_id > {{ processed_load_id() }}
    {% endif %}
    {% if is_incremental() and newly_true %}
        union
        select live_rows.*
        from {{ ref(staging_model) }} as live_rows
        inner join {{ this }} as published
            on live_rows.{{ unique_key }} = published.{{ unique_key }}
        where
            live_rows.{{ newly_true }}
            and not published.{{ newly_true }}
    {% endif %}

)

select
    changed.*,
    in_scope.primary_campus_id
from changed
inner join in_scope
    on changed.user_id = in_scope.user_id
{%- endmacro %}

{# Pre-hook of live_mart_batch. #}
{% macro live_mart_delete_users_out_of_scope() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where user_id in (
            select user_id
            from {{ ref('int_users__scope') }}
            where
                not is_in_scope
                and scope_changed_load_id > {{ processed_load_id() }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of live_mart_batch. #}
{% macro live_mart_delete_deleted_rows(deletions_model, unique_key) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where {{ unique_key }} in (
            select record_id
            from {{ ref(deletions_model) }}
            where load_id > {{ processed_load_id() }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# Post-hook of live_mart_batch. #}
{% macro live_mart_delete_rows_outside(column, model) -%}
    delete from {{ this }}
    where {{ column }} not in (select {{ column }} from {{ ref(model) }})
{%- endmacro %}

{% macro current_load_id() -%}
    (
        select max(load_id)
        from {{ ref('stg_intra__dlt_loads') }}
        where status = 0
    )
{%- endmacro %}

{% macro processed_load_id() -%}
    (select coalesce(max(_processed_load_id), '') from {{ this }})
{%- endmacro %}
