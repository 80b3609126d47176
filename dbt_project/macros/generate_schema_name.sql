{#
    Custom schemas are used verbatim (`staging`, not `public_staging`), except `marts`:
    the marts are built and tested in `marts__build`, and the ELT publishes them by swapping
    that schema with `marts` once every test passed (pipelines/run/publish.py). Set the var
    `marts_schema` to build somewhere else (`make docs` documents the published `marts`).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ var('marts_schema', 'marts__build') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
