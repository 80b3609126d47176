-- The sessions the API deleted (tombstones found by a full run or a re-read
-- by id), with whose and when they were, and the load that found them: the
-- locations mart deletes them, and logtime_daily recounts the days they had.

select
    id as record_id,
    user_id,
    campus_id,
    begin_at,
    _dlt_load_id as load_id
from {{ source('intra', 'locations') }}
where _intra_deleted
