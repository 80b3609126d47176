{#
    Helpers of the incremental live marts (users, cursus_users, projects_users,
    achievements_users, coalitions_users).

    Every row of those marts records in `_processed_load_id` the newest dlt load that existed
    when the row was written; the largest value in a mart is therefore the last load it has
    processed, and the next run only reads rows from newer loads (dlt load ids are Unix
    timestamps as text, of equal integer width, so text order is time order). Each live mart
    has an index on `_processed_load_id`, which makes that maximum a lookup instead of a scan
    of the whole table.
#}

{% macro current_load_id() -%}
    (
        select max(load_id)
        from {{ source('intra', '_dlt_loads') }}
        where status = 0
    )
{%- endmacro %}

{% macro processed_load_id() -%}
    (select coalesce(max(_processed_load_id), '') from {{ this }})
{%- endmacro %}

{#
    Pre-hook: remove the rows of users who left the student population since the last run
    (became alumni, moved to a dropped campus, left the cursus...). Their rows did not change,
    so no new load brings them; the scope model says who left and when.
#}
{% macro delete_rows_of_users_out_of_scope() -%}
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

{#
    on-run-start: indexes on each live raw table, so an incremental run reads only what it
    needs: the load id (rows of new loads) and the user id (all rows of the few users whose
    scope changed). dlt creates neither; creating them again is a no-op.
#}
{% macro create_raw_load_indexes() -%}
    {%- set user_id = {
        'users': 'id',
        'cursus_users': '(("user" ->> \'id\')::bigint)',
        'campus_users': 'user_id',
        'projects_users': '(("user" ->> \'id\')::bigint)',
        'achievements_users': 'user_id',
        'coalitions_users': 'user_id',
    } -%}
    {%- for table, user_column in user_id.items() %}
    do $$ begin
        if to_regclass('raw.{{ table }}') is not null then
            create index if not exists {{ table }}_dlt_load_id
                on raw.{{ table }} (_dlt_load_id);
            create index if not exists {{ table }}_user_id
                on raw.{{ table }} ({{ user_column }});
        end if;
    end $$;
    {%- endfor %}
{%- endmacro %}

{#
    Post-hook: remove rows pointing at a project, achievement or coalition that has just left
    its (reference) mart, so foreign keys keep resolving. Rows never point outside the kept
    set: the rules filter them, they are not left to fail a test.
#}
{% macro delete_rows_outside(column, model) -%}
    delete from {{ this }}
    where {{ column }} not in (select {{ column }} from {{ ref(model) }})
{%- endmacro %}
