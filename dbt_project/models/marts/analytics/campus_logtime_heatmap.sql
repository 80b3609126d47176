-- When students are on campus: logtime per campus, local weekday and local
-- hour over the last 28 whole local days (four of each weekday), by the
-- logtime rules (sessions merged per student first). Rebuilt each run: it
-- reads only the sessions of those days.

with

as_of as (

    select {{ run_as_of() }} as moment

),

periods as (

    select
        time_zones.campus_id,
        time_zones.time_zone,
        (as_of.moment at time zone time_zones.time_zone)::date
        - 28 as period_start,
        (as_of.moment at time zone time_zones.time_zone)::date as period_end
    from {{ ref('int_campuses__time_zones') }} as time_zones
    cross join as_of
    where time_zones.time_zone is not null

),

sessions as (

    select countable.*
    from {{ ref('int_locations__countable') }} as countable
    cross join as_of
    where
        countable.exclusion is null
        -- sessions that began before the 29 days and the cap end before them
        and countable.begin_at
        > as_of.moment - interval '29 days' - {{ logtime_session_cap() }}

),

islands as (

    {{ logtime_islands('sessions') }}

),

clipped as (

    select
        islands.user_id,
        islands.campus_id,
        periods.time_zone,
        periods.period_start,
        periods.period_end,
        greatest(
            islands.begin_at,
            periods.period_start::timestamp at time zone periods.time_zone
        ) as begin_at,
        least(
            islands.end_at,
            periods.period_end::timestamp at time zone periods.time_zone
        ) as end_at
    from islands
    inner join periods
        on islands.campus_id = periods.campus_id

),

hours as (

    -- local hours are whole UTC hours apart, daylight saving included, so
    -- stepping an hour from a local hour's start lands on the next one's; the
    -- series starts an hour early in case the first local hour is ambiguous
    select
        clipped.campus_id,
        clipped.period_start,
        clipped.period_end,
        extract(isodow from hour_start at time zone clipped.time_zone)
            as weekday,
        extract(hour from hour_start at time zone clipped.time_zone) as hour,
        extract(
            epoch from least(clipped.end_at, hour_start + interval '1 hour')
            - greatest(clipped.begin_at, hour_start)
        ) as seconds
    from clipped
    cross join
        lateral generate_series(
            (
                date_trunc(
                    'hour', clipped.begin_at at time zone clipped.time_zone
                )
                at time zone clipped.time_zone
            ) - interval '1 hour',
            clipped.end_at,
            interval '1 hour'
        ) as hour_start
    where clipped.end_at > clipped.begin_at

),

final as (

    select
        campus_id,
        weekday::smallint as weekday,
        hour::smallint as hour,
        sum(seconds)::bigint as seconds,
        round(sum(seconds) / 3600.0 / 4, 2) as average_students,
        period_start,
        period_end - 1 as period_end
    from hours
    where seconds > 0
    group by 1, 2, 3, 6, 7

)

select * from final
