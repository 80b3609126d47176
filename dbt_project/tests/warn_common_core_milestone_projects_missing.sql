-- The projects of the common-core milestones (var common_core_milestones) that
-- no project of the projects mart is named: a milestone missing one of its
-- projects is reached without it (see tests/_singular_tests.yml).

{{ config(severity='warn') }}

with

milestone_projects as (

    select * from (
        values
        {% for projects in var('common_core_milestones') -%}
            {%- set milestone = loop.index0 -%}
            {%- for name in projects -%}
                ({{ milestone }}, '{{ name }}')
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%}
            {%- if not loop.last %}, {% endif %}
        {% endfor %}
    ) as listed (milestone, project_name)

)

select
    milestone_projects.milestone,
    milestone_projects.project_name
from milestone_projects
left join {{ ref('projects') }} as projects
    on milestone_projects.project_name = projects.name
where projects.project_id is null
