{#
    The row count of the published version of a mart (schema `marts`), as SQL:
    a scalar subquery, or null when nothing was published yet. Used by the volume
    guard (tests/assert_no_mart_loses_most_of_its_published_rows.sql).
#}
{% macro published_row_count(name) -%}
    {%- set published = none -%}
    {%- if execute -%}
        {%- set published = adapter.get_relation(
            database=target.database, schema='marts', identifier=name
        ) -%}
    {%- endif -%}
    {%- if published is not none -%}
        (select count(*) from {{ published }})
    {%- else -%}
        null::bigint
    {%- endif -%}
{%- endmacro %}
