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
            date_trunc('month', {{ run_as_of() }} at time zone 'UTC')
            - interval '1 month'
        {%- else -%}
            date_trunc('month', ({{ first_month }}) at time zone 'UTC')
        {%- endif %},
        date_trunc('month', {{ run_as_of() }} at time zone 'UTC'),
        interval '1 month'
    ) as series
{%- endmacro %}
