-- Per cohort (campus and piscine month: the students' pool month and year, at
-- the campus where they first were in the population) and per month since
-- the cohort began (0: its pool month): the cohort's size, how many are still
-- in the population at that month's end, their median level then, and the
-- share of the cohort that had reached each common-core milestone by then
-- (var common_core_milestones: a milestone is reached when every project of
-- it was validated, at the latest of those first validations, from the
-- history). Incremental: an hourly run rebuilds each cohort's current and
-- previous month.

{{
    config(
        materialized='incremental',
        unique_key=['campus_id', 'pool_year', 'pool_month', 'months_since_start'],
        incremental_strategy='delete+insert',
        pre_hook="{{ analytics_delete_older_months('cohort_start + make_interval(months => months_since_start)') }}",
        indexes=[{
            'columns': ['campus_id', 'pool_year', 'pool_month', 'months_since_start'],
            'unique': True,
        }],
    )
}}

{% set milestones = var('common_core_milestones') %}

with

as_of as (

    select {{ run_as_of() }} as moment

),

first_campus as (

    -- each student's campus in their first version in the population (distinct
    -- on, not a join on the first version: PostgreSQL then knows there is one
    -- row per student, and plans the joins below for thousands, not a handful)
    select distinct on (user_id)
        user_id,
        campus_id,
        version
    from {{ ref('hist_users_scope') }}
    where is_in_scope
    order by 1, 3

),

pool_months as (

    -- the API's pool_month names
    select * from (
        values
        ('january', 1), ('february', 2), ('march', 3), ('april', 4),
        ('may', 5), ('june', 6), ('july', 7), ('august', 8),
        ('september', 9), ('october', 10), ('november', 11), ('december', 12)
    ) as month_names (pool_month, month_number)

),

pools as (

    select
        users.user_id,
        users.pool_month,
        case
            when users.pool_year ~ '^[0-9]{4}$' then users.pool_year::integer
        end as pool_year
    from {{ ref('stg_intra__users') }} as users

),

members as (

    select
        first_campus.user_id,
        first_campus.campus_id,
        pools.pool_year,
        pools.pool_month,
        make_date(pools.pool_year, pool_months.month_number, 1) as cohort_start
    from first_campus
    inner join pools
        on first_campus.user_id = pools.user_id
    inner join pool_months
        on pools.pool_month = pool_months.pool_month
    where pools.pool_year is not null

),

member_months as (

    -- each member at the end of each month since their cohort began (joined to
    -- nothing: a join of cohorts with their members is one PostgreSQL cannot
    -- estimate, and it then loops over every member for each month)
    select
        members.*,
        months_since_start,
        least(
            (
                members.cohort_start
                + (months_since_start + 1) * interval '1 month'
            )
            at time zone 'UTC',
            as_of.moment
        ) as month_end
    from members
    cross join as_of
    cross join
        lateral generate_series(
            0,
            (
                extract(
                    year from age(
                        as_of.moment at time zone 'UTC', members.cohort_start
                    )
                )
                * 12
                + extract(
                    month from age(
                        as_of.moment at time zone 'UTC', members.cohort_start
                    )
                )
            )::integer
        ) as months_since_start
    where
        members.cohort_start <= as_of.moment at time zone 'UTC'
        {% if is_incremental() %}
            and members.cohort_start
            + (months_since_start + 1) * interval '1 month'
            > date_trunc('month', as_of.moment at time zone 'UTC')
            - interval '1 month'
        {% endif %}

),

milestone_projects as (

    select
        project_id,
        {{ milestone_of('name') }} as milestone
    from {{ ref('projects') }}

),

first_validations as (

    select
        versions.user_id,
        versions.project_id,
        min(coalesce(versions.marked_at, versions.valid_from)) as validated_at
    from {{ ref('hist_projects_users') }} as versions
    inner join milestone_projects
        on versions.project_id = milestone_projects.project_id
    where versions.is_validated and milestone_projects.milestone is not null
    group by 1, 2

),

reached as (

    -- when each member reached each milestone: every project of it validated
    select
        members.user_id,
        milestone_projects.milestone,
        case
            when count(first_validations.validated_at) = count(*)
                then max(first_validations.validated_at)
        end as reached_at
    from members
    cross join milestone_projects
    left join first_validations
        on
            members.user_id = first_validations.user_id
            and milestone_projects.project_id = first_validations.project_id
    where milestone_projects.milestone is not null
    group by 1, 2

),

milestones_reached as (

    -- one row per member: when they reached each milestone, or null
    select
        user_id,
        {% for _ in milestones -%}
            max(reached_at) filter (
                where milestone = {{ loop.index0 }}
            ) as milestone_{{ loop.index0 }}_reached_at,
        {% endfor -%}
        count(*) as milestones
    from reached
    group by 1

),

member_points as (

    -- each member at each month's end: in scope or not, their level, milestones
    select
        member_months.campus_id,
        member_months.pool_year,
        member_months.pool_month,
        member_months.cohort_start,
        member_months.months_since_start,
        member_months.month_end,
        member_months.user_id,
        {% for _ in milestones -%}
            milestones_reached.milestone_{{ loop.index0 }}_reached_at,
        {% endfor -%}
        scope_versions.user_id is not null as is_in_scope,
        enrolment_versions.level
    from member_months
    left join milestones_reached
        on member_months.user_id = milestones_reached.user_id
    left join {{ ref('hist_users_scope') }} as scope_versions
        on
            member_months.user_id = scope_versions.user_id
            and scope_versions.is_in_scope
            and member_months.month_end > scope_versions.valid_from
            and (
                scope_versions.valid_to is null
                or member_months.month_end <= scope_versions.valid_to
            )
    left join {{ ref('hist_cursus_users') }} as enrolment_versions
        on
            member_months.user_id = enrolment_versions.user_id
            and scope_versions.user_id is not null
            and enrolment_versions.cursus_id = {{ var('cursus_id') }}
            and member_months.month_end > enrolment_versions.valid_from
            and (
                enrolment_versions.valid_to is null
                or member_months.month_end <= enrolment_versions.valid_to
            )

),

final as (

    select
        campus_id,
        pool_year,
        pool_month,
        cohort_start,
        months_since_start,
        count(*)::integer as students,
        (count(*) filter (where is_in_scope))::integer as still_in_scope,
        {% for _ in milestones -%}
            round(
                count(*) filter (
                    where milestone_{{ loop.index0 }}_reached_at < month_end
                ) / count(*)::numeric,
                4
            ) as milestone_{{ loop.index0 }}_share,
        {% endfor -%}
        round(
            (percentile_cont(0.5) within group (order by level))::numeric, 2
        ) as median_level
    from member_points
    group by 1, 2, 3, 4, 5

)

select * from final
{{ analytics_published_older_months(
    'cohort_start + make_interval(months => months_since_start)'
) }}
