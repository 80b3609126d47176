-- One row per student of the population: where they are in the cursus, their
-- projects, coalition, achievements, logtime and presence, and since when they
-- are in the population. Rebuilt each run from the marts and the history.

with

as_of as (

    select {{ run_as_of() }} as moment

),

users as (

    select * from {{ ref('users') }}

),

time_zones as (

    -- null for a campus whose zone PostgreSQL does not know, as its local days
    select * from {{ ref('int_campuses__time_zones') }}

),

enrolments as (

    -- the latest enrolment, should a student have two
    select *
    from (
        select
            *,
            row_number() over (
                partition by user_id order by begin_at desc, cursus_user_id desc
            ) as recency
        from {{ ref('cursus_users') }}
    ) as ranked
    where recency = 1

),

projects as (

    select
        user_id,
        count(*) filter (where is_validated) as projects_validated,
        count(*) filter (
            where status not in ('finished', 'parent')
        ) as projects_in_progress,
        count(*) filter (
            where status = 'finished' and is_validated is false
        ) as projects_failed,
        max(marked_at) filter (where is_validated) as last_validated_at
    from {{ ref('projects_users') }}
    group by 1

),

memberships as (

    -- the latest membership, should a student have two
    select
        user_id,
        coalition_id
    from (
        select
            *,
            row_number() over (
                partition by user_id
                order by created_at desc, coalitions_user_id desc
            ) as recency
        from {{ ref('coalitions_users') }}
    ) as ranked
    where recency = 1

),

achievements as (

    select
        user_id,
        count(*) as achievements
    from {{ ref('achievements_users') }}
    group by 1

),

logtime as (

    select
        logtime_daily.user_id,
        sum(logtime_daily.seconds) filter (
            where logtime_daily.day
            > (as_of.moment at time zone time_zones.time_zone)::date - 7
        ) as logtime_7_days_seconds,
        sum(logtime_daily.seconds) filter (
            where logtime_daily.day
            > (as_of.moment at time zone time_zones.time_zone)::date - 30
        ) as logtime_30_days_seconds
    from {{ ref('logtime_daily') }} as logtime_daily
    inner join time_zones
        on logtime_daily.campus_id = time_zones.campus_id
    cross join as_of
    group by 1

),

presence as (

    select
        user_id,
        max(counted_end) as last_seen_on_campus_at
    from {{ ref('int_locations__countable') }}
    where exclusion is null
    group by 1

),

scope_streaks as (

    -- the start of the student's current stay in the population: the first
    -- in-scope version after the last one out of scope
    select
        user_id,
        min(valid_from) filter (
            where is_in_scope and valid_from > coalesce(last_out, '-infinity')
        ) as in_scope_since
    from (
        select
            *,
            max(valid_from) filter (where not is_in_scope) over (
                partition by user_id
            ) as last_out
        from {{ ref('hist_users_scope') }}
    ) as versions
    group by 1

),

final as (

    select
        users.user_id,
        users.login,
        users.campus_id,
        users.pool_month,
        users.pool_year,
        enrolments.begin_at as cursus_begin_at,
        enrolments.level,
        enrolments.grade,
        enrolments.blackholed_at,
        (enrolments.blackholed_at at time zone time_zones.time_zone)::date
        - (as_of.moment at time zone time_zones.time_zone)::date
            as blackhole_days_left,
        coalesce(
            enrolments.blackholed_at <= as_of.moment
            and enrolments.end_at is null,
            false
        ) as is_past_blackhole,
        coalesce(projects.projects_validated, 0)::integer as projects_validated,
        coalesce(projects.projects_in_progress, 0)::integer
            as projects_in_progress,
        coalesce(projects.projects_failed, 0)::integer as projects_failed,
        projects.last_validated_at,
        memberships.coalition_id,
        coalesce(achievements.achievements, 0)::integer as achievements,
        coalesce(logtime.logtime_7_days_seconds, 0)::bigint
            as logtime_7_days_seconds,
        coalesce(logtime.logtime_30_days_seconds, 0)::bigint
            as logtime_30_days_seconds,
        presence.last_seen_on_campus_at,
        scope_streaks.in_scope_since
    from users
    cross join as_of
    inner join time_zones
        on users.campus_id = time_zones.campus_id
    left join enrolments
        on users.user_id = enrolments.user_id
    left join projects
        on users.user_id = projects.user_id
    left join memberships
        on users.user_id = memberships.user_id
    left join achievements
        on users.user_id = achievements.user_id
    left join logtime
        on users.user_id = logtime.user_id
    left join presence
        on users.user_id = presence.user_id
    left join scope_streaks
        on users.user_id = scope_streaks.user_id

)

select * from final
