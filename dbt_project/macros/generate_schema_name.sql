{#
    Use a model's custom schema verbatim (`marts`, not `public_marts`): consumers query
    `marts.campuses`, whatever the target's default schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
