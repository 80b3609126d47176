-- Every logtime_daily row holds at least one second and at most its local
-- day's length (rows the build wrote, in hourly runs).

select *
from {{ ref('logtime_daily') }}
where
    (seconds < 1 or seconds > day_seconds)
    and _processed_load_id > {{ published_load_id() }}
