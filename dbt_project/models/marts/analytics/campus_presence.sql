-- Who is on campus now: the students' sessions open at the run's time (the
-- API's clock), one row per session, user ids and seats only. A session open
-- longer than the logtime cap is a forgotten logout, not a presence (the same
-- rule logtime_daily applies), and one that begins after the run's time is
-- not one yet. Rebuilt by every build: a watch tick that loaded sessions.

with

as_of as (

    select {{ run_as_of() }} as moment

),

locations as (

    select * from {{ ref('locations') }}

),

final as (

    select
        locations.campus_id,
        locations.host,
        locations.user_id,
        locations.location_id,
        locations.is_primary,
        locations.begin_at,
        floor(extract(epoch from as_of.moment - locations.begin_at))::bigint
            as seconds_on_campus,
        as_of.moment as as_of
    from locations
    cross join as_of
    where
        locations.end_at is null
        and locations.begin_at <= as_of.moment
        and locations.begin_at > as_of.moment - make_interval(
            hours => {{ var('logtime_session_cap_hours') }}
        )

)

select * from final
