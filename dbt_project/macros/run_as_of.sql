{#
    The moment this run judges the data at (anonymize dates): the environment variable
    INTRA_AS_OF, which the ELT sets to the API server's time; `now` when dbt runs by hand.
    Not a var: a var that changes every run would make dbt re-parse the whole project.
#}
{% macro run_as_of() -%}
    '{{ env_var("INTRA_AS_OF", "now") }}'::timestamptz
{%- endmacro %}
