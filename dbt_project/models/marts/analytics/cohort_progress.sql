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

    select
        user_id,
        campus_id
    from (
        select
            *,
            row_number() over (partition by user_id order by version) as nth
        from {{ ref('hist_users_scope') }}
        where is_in_scope
    ) as in_scope_versions
    where nth = 1

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

members as (

    select
        first_campus.user_id,
        first_campus.campus_id,
        users.pool_year::integer as pool_year,
        users.pool_month,
        make_date(users.pool_year::integer, pool_months.month_number, 1)
            as cohort_start
    from first_campus
    inner join {{ ref('stg_intra__users') }} as users
        on first_campus.user_id = users.user_id
    inner join pool_months
        on users.pool_month = pool_months.pool_month
    where users.pool_year ~ '^[0-9]{4}$'

),

cohorts as (

    select
        campus_id,
        pool_year,
        pool_month,
        cohort_start,
        count(*) as students
    from members
    group by 1, 2, 3, 4

),

points as (

    select
        cohorts.*,
        months_since_start,
        least(
            (
                cohorts.cohort_start
                + (months_since_start + 1) * interval '1 month'
            )
            at time zone 'UTC',
            as_of.moment
        ) as month_end
    from cohorts
    cross join as_of
    cross join
        lateral generate_series(
            0,
            (
                extract(
                    year from age(
                        as_of.moment at time zone 'UTC', cohorts.cohort_start
                    )
                )
                * 12
                + extract(
                    month from age(
                        as_of.moment at time zone 'UTC', cohorts.cohort_start
                    )
                )
            )::integer
        ) as months_since_start
    where
        cohorts.cohort_start <= as_of.moment at time zone 'UTC'
        {% if is_incremental() %}
            and cohorts.cohort_start
            + (months_since_start + 1) * interval '1 month'
            >= date_trunc('month', as_of.moment at time zone 'UTC')
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

member_points as (

    select
        points.campus_id,
        points.pool_year,
        points.pool_month,
        points.months_since_start,
        members.user_id,
        scope_versions.user_id is not null as is_in_scope,
        enrolment_versions.level
    from points
    inner join members
        on
            points.campus_id = members.campus_id
            and points.pool_year = members.pool_year
            and points.pool_month = members.pool_month
    left join {{ ref('hist_users_scope') }} as scope_versions
        on
            members.user_id = scope_versions.user_id
            and scope_versions.is_in_scope
            and points.month_end > scope_versions.valid_from
            and (
                scope_versions.valid_to is null
                or points.month_end <= scope_versions.valid_to
            )
    left join {{ ref('hist_cursus_users') }} as enrolment_versions
        on
            members.user_id = enrolment_versions.user_id
            and scope_versions.user_id is not null
            and enrolment_versions.cursus_id = {{ var('cursus_id') }}
            and points.month_end > enrolment_versions.valid_from
            and (
                enrolment_versions.valid_to is null
                or points.month_end <= enrolment_versions.valid_to
            )

),

progress as (

    select
        member_points.campus_id,
        member_points.pool_year,
        member_points.pool_month,
        member_points.months_since_start,
        count(*) filter (where member_points.is_in_scope) as still_in_scope,
        percentile_cont(0.5) within group (
            order by member_points.level
        ) as median_level
    from member_points
    group by 1, 2, 3, 4

),

milestone_counts as (

    select
        points.campus_id,
        points.pool_year,
        points.pool_month,
        points.months_since_start
        {%- for _ in milestones %}
            ,
            count(distinct reached.user_id) filter (
                where reached.milestone = {{ loop.index0 }}
            ) as milestone_{{ loop.index0 }}_reached
    
        {%- endfor %}
    from points
    inner join members
        on
            points.campus_id = members.campus_id
            and points.pool_year = members.pool_year
            and points.pool_month = members.pool_month
    inner join reached
        on
            members.user_id = reached.user_id
            and points.month_end > reached.reached_at
    group by 1, 2, 3, 4

),

final as (

    select
        points.campus_id,
        points.pool_year,
        points.pool_month,
        points.cohort_start,
        points.months_since_start,
        points.students::integer as students,
        coalesce(progress.still_in_scope, 0)::integer as still_in_scope,
        round(progress.median_level::numeric, 2) as median_level
        {%- for _ in milestones %}
            ,
            round(
                coalesce(
                    milestone_counts.milestone_{{ loop.index0 }}_reached, 0
                )::numeric
                / points.students,
                4
            ) as milestone_{{ loop.index0 }}_share
    
        {%- endfor %}
    from points
    left join progress
        on
            points.campus_id = progress.campus_id
            and points.pool_year = progress.pool_year
            and points.pool_month = progress.pool_month
            and points.months_since_start = progress.months_since_start
    left join milestone_counts
        on
            points.campus_id = milestone_counts.campus_id
            and points.pool_year = milestone_counts.pool_year
            and points.pool_month = milestone_counts.pool_month
            and points.months_since_start = milestone_counts.months_since_start

)

select * from final
