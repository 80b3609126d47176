-- The sessions this build loaded that logtime cannot count, because the API
-- served them broken, by reason (see tests/_singular_tests.yml).

{{ config(severity='warn') }}

with

loaded as (

    select * from {{ ref('stg_intra__locations') }}
    where load_id > {{ published_load_id() }}

),

judged as (

    select
        location_id,
        case
            when campus_id is null then 'no_campus'
            when user_id is null then 'no_user'
            when end_at < begin_at then 'ends_before_it_begins'
            when begin_at > {{ run_as_of() }} then 'begins_after_the_run'
        end as reason
    from loaded

)

select
    reason,
    count(*) as sessions,
    min(location_id) as example_location_id
from judged
where reason is not null
group by 1
