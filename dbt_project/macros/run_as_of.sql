{#
    The moment this run judges the data at (anonymize dates): the environment variable
    INTRA_AS_OF, which the ELT sets to the API server's time; `now` when dbt runs by hand.
    Not a var: a var that changes every run would make dbt re-parse the whole project.
    Read only when the SQL runs (`execute`): a variable read while dbt parses is recorded,
    and every file that read it is parsed again (with its YAML) whenever it changes, which
    for this one is every run.
#}
{% macro run_as_of() -%}
    '{{ env_var("INTRA_AS_OF", "now") if execute else "now" }}'::timestamptz
{%- endmacro %}
