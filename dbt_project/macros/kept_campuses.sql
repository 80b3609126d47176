{% macro raw_kept_campuses() %}
    {#- The kept-campus rule (active AND public), read from raw: its one home
    for the singular tests, which check the marts against the raw API data
    and so do not read int_campuses__kept, the model that applies it. -#}
    select
        id as campus_id,
        name as campus_name
    from {{ source('intra', 'campus') }}
    where active and public
{% endmacro %}
