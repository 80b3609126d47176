-- For every student and campus this build counted again (rows written since
-- the last published build; every one in a full run or by hand), the logtime
-- equals a count from scratch of all their sessions, day for day.

with

recounted as (

    select distinct
        user_id,
        campus_id
    from {{ ref('logtime_daily') }}
    where _processed_load_id > {{ published_load_id() }}

),

sessions as (

    select countable.*
    from {{ ref('int_locations__countable') }} as countable
    inner join recounted
        on
            countable.user_id = recounted.user_id
            and countable.campus_id = recounted.campus_id
    where countable.exclusion is null

),

islands as (

    {{ logtime_islands('sessions') }}

),

from_scratch as (

    {{ logtime_days('islands') }}

),

stored as (

    select
        logtime_daily.user_id,
        logtime_daily.campus_id,
        logtime_daily.day,
        logtime_daily.seconds,
        logtime_daily.day_seconds,
        logtime_daily.includes_open_session,
        logtime_daily.includes_capped_session
    from {{ ref('logtime_daily') }} as logtime_daily
    inner join recounted
        on
            logtime_daily.user_id = recounted.user_id
            and logtime_daily.campus_id = recounted.campus_id

),

missing as (

    select
        'only from scratch' as difference,
        *
    from
        (
            select * from from_scratch
            except
            select * from stored
        ) as only_from_scratch

),

extra as (

    select
        'only stored' as difference,
        *
    from (
        select * from stored
        except
        select * from from_scratch
    ) as only_stored

)

select * from missing
union all
select * from extra
