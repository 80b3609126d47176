-- Per kept campus and month (UTC months; logtime by local days): students in
-- the population at the month's end, admissions (entered_scope events: new
-- students, admissions to the cursus, transfers in), blackholes
-- (int_students__blackholes), students who became alumni, their average level
-- at the month's end, students seen on campus and their logtime. From the
-- history, so months before the mirror's first run know only what the API
-- dates and the students still there at that run (`is_before_first_run`).
-- Incremental: an hourly run rebuilds the current and the previous month.

{{
    config(
        materialized='incremental',
        unique_key=['campus_id', 'month'],
        incremental_strategy='delete+insert',
        pre_hook="{{ analytics_delete_older_months('month') }}",
        indexes=[{'columns': ['campus_id', 'month'], 'unique': True}],
    )
}}

with

months as (

    {{ analytics_months(
        "select min(valid_from) from " ~ ref('hist_users_scope')
    ) }}

),

first_run as (

    select to_timestamp(min(load_id)::numeric) as moment
    from {{ ref('stg_intra__dlt_loads') }}

),

campuses as (

    select * from {{ ref('campuses') }}

),

in_scope as (

    select
        months.month,
        scope_versions.campus_id,
        scope_versions.user_id,
        months.month_end
    from months
    inner join {{ ref('hist_users_scope') }} as scope_versions
        on
            months.month_end > scope_versions.valid_from
            and (
                scope_versions.valid_to is null
                or months.month_end <= scope_versions.valid_to
            )
    where scope_versions.is_in_scope

),

population as (

    select
        in_scope.month,
        in_scope.campus_id,
        count(*) as students_in_scope,
        avg(enrolment_versions.level) as average_level
    from in_scope
    left join {{ ref('hist_cursus_users') }} as enrolment_versions
        on
            in_scope.user_id = enrolment_versions.user_id
            and enrolment_versions.cursus_id = {{ var('cursus_id') }}
            and in_scope.month_end > enrolment_versions.valid_from
            and (
                enrolment_versions.valid_to is null
                or in_scope.month_end <= enrolment_versions.valid_to
            )
    group by 1, 2

),

events as (

    select
        date_trunc('month', events.occurred_at at time zone 'UTC')::date
            as month,
        events.campus_id,
        count(*) filter (where events.kind = 'entered_scope') as admissions,
        count(*) filter (where events.kind = 'became_alumni') as alumni
    from {{ ref('hist_events') }} as events
    inner join months
        on
            date_trunc('month', events.occurred_at at time zone 'UTC')::date
            = months.month
    where events.kind in ('entered_scope', 'became_alumni')
    group by 1, 2

),

blackholes as (

    select
        date_trunc('month', blackholes.blackholed_at at time zone 'UTC')::date
            as month,
        blackholes.campus_id,
        count(*) as blackholes
    from {{ ref('int_students__blackholes') }} as blackholes
    inner join months
        on
            date_trunc(
                'month', blackholes.blackholed_at at time zone 'UTC'
            )::date
            = months.month
    group by 1, 2

),

logtime as (

    select
        date_trunc('month', logtime_daily.day)::date as month,
        logtime_daily.campus_id,
        count(distinct logtime_daily.user_id) as students_seen_on_campus,
        sum(logtime_daily.seconds) as logtime_seconds
    from {{ ref('logtime_daily') }} as logtime_daily
    inner join months
        on date_trunc('month', logtime_daily.day)::date = months.month
    group by 1, 2

),

final as (

    select
        campuses.campus_id,
        months.month,
        coalesce(population.students_in_scope, 0)::integer as students_in_scope,
        coalesce(events.admissions, 0)::integer as admissions,
        coalesce(blackholes.blackholes, 0)::integer as blackholes,
        coalesce(events.alumni, 0)::integer as alumni,
        round(population.average_level::numeric, 2) as average_level,
        coalesce(logtime.students_seen_on_campus, 0)::integer
            as students_seen_on_campus,
        coalesce(logtime.logtime_seconds, 0)::bigint as logtime_seconds,
        months.month_end <= first_run.moment as is_before_first_run
    from months
    cross join campuses
    cross join first_run
    left join population
        on
            months.month = population.month
            and campuses.campus_id = population.campus_id
    left join events
        on months.month = events.month and campuses.campus_id = events.campus_id
    left join blackholes
        on
            months.month = blackholes.month
            and campuses.campus_id = blackholes.campus_id
    left join logtime
        on
            months.month = logtime.month
            and campuses.campus_id = logtime.campus_id

)

select * from final
{{ analytics_published_older_months('month') }}
