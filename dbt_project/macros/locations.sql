{#
    Post-hook of the locations mart: a student anonymized since their sessions were
    written loses the host of every session (no load rewrites those rows; the users
    mart of this build knows who is anonymized). Documented in macros/_macros.yml.
#}
{#
    Pre-hook of the locations mart: a session the API now serves without a campus or
    a user (a re-read by id) can no longer be placed; the batch leaves it out, and
    this deletes the copy an earlier build had written. Documented in macros/_macros.yml.
#}
{% macro locations_delete_sessions_gone_astray() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where location_id in (
            select location_id
            from {{ ref('stg_intra__locations') }}
            where
                load_id > {{ processed_load_id() }}
                and (campus_id is null or user_id is null)
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro locations_forget_hosts_of_anonymized_users() -%}
    update {{ this }} as sessions
    set host = null
    from {{ ref('users') }} as users
    where
        sessions.user_id = users.user_id
        and users.is_anonymized
        and sessions.host is not null
{%- endmacro %}
