{#
    Post-hook of the locations mart: a student anonymized since their sessions were
    written loses the host of every session (no load rewrites those rows; the users
    mart of this build knows who is anonymized). Documented in macros/_macros.yml.
#}
{% macro locations_forget_hosts_of_anonymized_users() -%}
    update {{ this }} as sessions
    set host = null
    from {{ ref('users') }} as users
    where
        sessions.user_id = users.user_id
        and users.is_anonymized
        and sessions.host is not null
{%- endmacro %}
