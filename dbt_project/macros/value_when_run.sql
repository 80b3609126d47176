{#
    A watermark (a newest load id) as a literal read when the node runs, not a
    subquery: PostgreSQL plans a comparison with a subquery's value without
    knowing it, guesses that a third of the table passes, and scans millions of
    rows where the column's index finds the few newer ones. Not for a dbt unit
    test that sets is_incremental true: there `this` is a fixture, not a table.
    Documented in macros/_macros.yml.
#}
{% macro value_when_run(query) -%}
    {%- if execute -%}
        {{ dbt.string_literal(run_query(query).columns[0].values()[0] or '') }}
    {%- else -%}
        ({{ query }})
    {%- endif -%}
{%- endmacro %}
