{#
    Tests of the live tables (millions of rows) check only the rows that are not published
    yet, so an hourly build costs what changed, not what exists.

    A test opts in with a `where` config naming the load column of its table and the
    placeholder `__published_load_id__`, e.g. `where: "load_id > __published_load_id__"`:
    set once for the live marts' folder (dbt_project.yml), and once per file, as a YAML
    anchor, for the live staging models.
    dbt renders `where` at parse time, without access to the database, so the placeholder
    is replaced here, at run time (dbt's documented way: overriding get_where_subquery).

    It becomes the newest dlt load that a published build had processed (the ELT records it
    in its ledger, the source elt.runs, when it publishes) when the environment variable INTRA_TEST_ROWS is
    `unpublished`: the hourly ELT sets it. Otherwise (`make elt-full`, a `dbt test` by hand)
    it becomes '' and every row is tested. Rows of earlier loads were tested when they were
    published; a live mart row rewritten by this build carries this build's
    `_processed_load_id`, so it is tested again. (An environment variable, not a var: a var
    that changes between runs makes dbt re-parse the whole project; and read only when the
    SQL runs, as `run_as_of`, so that its changes re-parse no file.)
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace(
            '__published_load_id__', published_load_id()
        ) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro published_load_id() -%}
    {%- if execute and env_var('INTRA_TEST_ROWS', 'all') == 'unpublished' -%}
        {{ value_when_run(
            "select coalesce(max(published_load_id), '') from "
            ~ source('elt', 'runs') ~ " where published"
        ) }}
    {%- else -%}
        ''
    {%- endif -%}
{%- endmacro %}
