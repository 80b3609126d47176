-- Every session of the locations mart with what the logtime rules make of it:
-- `exclusion` says why it does not count (null: it counts), `counted_end` the
-- moment it counts to: its logout, or the run's time while it is open (or if
-- the API dates its logout later), and never more than the session cap
-- (var logtime_session_cap_hours) after its login; `is_capped` flags a session
-- the cap cut (a forgotten logout).

with

locations as (

    select * from {{ ref('locations') }}

),

time_zones as (

    select * from {{ ref('int_campuses__time_zones') }}

),

judged as (

    select
        locations.location_id,
        locations.user_id,
        locations.campus_id,
        time_zones.time_zone,
        locations.begin_at,
        locations.end_at,
        case
            when locations.is_primary is false then 'not_primary'
            when
                locations.end_at < locations.begin_at
                then 'ends_before_it_begins'
            when
                locations.begin_at > {{ run_as_of() }}
                then 'begins_after_the_run'
            when time_zones.time_zone is null then 'unknown_time_zone'
        end as exclusion,
        least(
            coalesce(locations.end_at, {{ run_as_of() }}),
            {{ run_as_of() }},
            locations.begin_at + {{ logtime_session_cap() }}
        ) as counted_end,
        locations.end_at is null as is_open,
        least(coalesce(locations.end_at, {{ run_as_of() }}), {{ run_as_of() }})
        > locations.begin_at + {{ logtime_session_cap() }} as is_capped
    from locations
    inner join time_zones
        on locations.campus_id = time_zones.campus_id

)

select * from judged
