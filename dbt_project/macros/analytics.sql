{#
    What the analytics marts share (documented in macros/_macros.yml).
#}

{#
    The common-core milestone of a project, from its name (var
    common_core_milestones: one list of project names per milestone, 0 first),
    or null.
#}
{% macro milestone_of(project_name) -%}
    case
        {%- for projects in var('common_core_milestones') %}
            when {{ project_name }} in (
                {%- for name in projects %}
                    '{{ name }}'{% if not loop.last %}, {% endif %}{% endfor -%}
            ) then {{ loop.index0 }}
        {%- endfor %}
    end
{%- endmacro %}

{#
    The months an analytics mart (re)builds, as a relation of (month, month_end):
    every month from `first_month` (SQL) to the run's, on a first or full build;
    the run's month and the one before on an incremental build (what a late
    change can still touch; a full run rebuilds them all). `month_end` is the
    next month's first instant (UTC), or the run's time for the current month.
#}
{% macro analytics_months(first_month) -%}
    select
        series::date as month,
        least(
            (series + interval '1 month') at time zone 'UTC', {{ run_as_of() }}
        ) as month_end
    from generate_series(
        {% if is_incremental() -%}
            {{ analytics_first_recounted_month() }}
        {%- else -%}
            date_trunc('month', ({{ first_month }}) at time zone 'UTC')
        {%- endif %},
        date_trunc('month', {{ run_as_of() }} at time zone 'UTC'),
        interval '1 month'
    ) as series
{%- endmacro %}

{#
    The first month an incremental build of a monthly analytics mart counts again
    (UTC): the month before the run's. Older months change only in a full run.
#}
{% macro analytics_first_recounted_month() -%}
    (date_trunc('month', {{ run_as_of() }} at time zone 'UTC') - interval '1 month')
{%- endmacro %}

{#
    The older months of a monthly analytics mart, which an incremental build does not
    count again (those whose `month`, an SQL expression of the mart's columns, is before
    analytics_first_recounted_month), as they are published
    (schema `marts`). The two copies of the blue/green swap (the ELT builds into the copy
    published one run before) would otherwise each keep their own older months, and the
    published ones would change back and forth at every run until a full run: a build
    puts the published older months in its copy instead (its own first go in the
    pre-hook analytics_delete_older_months). Nothing before a first publish.
#}
{% macro analytics_published_older_months(month) -%}
    {%- if is_incremental() and is_published(this.identifier) -%}
        union all
        select * from marts.{{ this.identifier }}
        where {{ month }} < {{ analytics_first_recounted_month() }}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of a monthly analytics mart: its own older months go (see above). #}
{% macro analytics_delete_older_months(month) -%}
    {%- if is_incremental() and is_published(this.identifier) -%}
        delete from {{ this }}
        where {{ month }} < {{ analytics_first_recounted_month() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
