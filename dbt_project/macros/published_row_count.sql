{#
    The row count of the published version of a mart (schema `marts`), as SQL:
    a scalar subquery, or null when nothing was published yet. Used by the volume
    guard (tests/assert_no_mart_loses_most_of_its_published_rows.sql).

    It asks the database rather than dbt's relation cache: the cache holds the
    schema `marts` as soon as one view there depends on a cached relation (the
    view marts.events over history.events), and then knows only that view.
#}
{% macro published_row_count(name) -%}
    {%- if is_published(name) -%}
        (select count(*) from marts.{{ name }})
    {%- else -%}
        null::bigint
    {%- endif -%}
{%- endmacro %}

{#
    Whether the mart `name` has a published version (schema `marts`); false
    while dbt parses.
#}
{% macro is_published(name) -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select to_regclass('marts." ~ name ~ "') is not null"
        ) -%}
        {%- do return(found.columns[0].values()[0]) -%}
    {%- endif -%}
    {%- do return(false) -%}
{%- endmacro %}
