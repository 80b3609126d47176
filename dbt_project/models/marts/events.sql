-- The typed event feed of the students' changes, ordered by event_id: a view
-- over the event log (history.events), so that the feed is read from the
-- published schema like every other mart. Poll it with
-- `where event_id > :last_seen order by event_id`.

{{ config(materialized='view') }}

with

event_log as (

    select * from {{ ref('hist_events') }}

),

final as (

    select
        event_id,
        kind,
        occurred_at,
        occurred_at_source,
        is_late,
        is_backfill,
        user_id,
        campus_id,
        subject,
        subject_id,
        project_id,
        old_value,
        new_value,
        recorded_at
    from event_log

)

select * from final
