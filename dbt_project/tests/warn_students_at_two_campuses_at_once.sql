-- Sessions of one student at two campuses overlapping in time, among the
-- sessions this build wrote (see tests/_singular_tests.yml).

{{ config(severity='warn') }}

with

countable as (

    select * from {{ ref('int_locations__countable') }}
    where exclusion is null

),

written as (

    select countable.*
    from countable
    inner join {{ ref('locations') }} as locations
        on countable.location_id = locations.location_id
    where locations._processed_load_id > {{ published_load_id() }}

)

select
    written.user_id,
    written.location_id,
    other.location_id as other_location_id,
    written.campus_id,
    other.campus_id as other_campus_id
from written
inner join countable as other
    on
        written.user_id = other.user_id
        and written.campus_id != other.campus_id
        and written.begin_at < other.counted_end
        and written.counted_end > other.begin_at
