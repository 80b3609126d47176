-- The event feed for people: marts.events with the names of what each event is
-- about (project, achievement, coalition, campus) and its values typed by kind
-- (a level as a number, a blackhole as a timestamp, a mark as an integer),
-- where old_value and new_value are text whose meaning depends on the kind.
-- Same rows, same event_id: poll either. Names come from the reference marts;
-- a thing that left them (a project no longer in the cursus) has a null name.

{{ config(materialized='view') }}

with

events as (

    select * from {{ ref('events') }}

),

projects as (

    select * from {{ ref('projects') }}

),

achievements as (

    select * from {{ ref('achievements') }}

),

coalitions as (

    select * from {{ ref('coalitions') }}

),

campuses as (

    select * from {{ ref('campuses') }}

),

typed as (

    select
        events.*,
        case
            when events.kind = 'achievement_earned'
                then events.new_value::bigint
        end as achievement_id,
        case
            when events.kind = 'coalition_joined'
                then events.new_value::bigint
            when events.kind = 'coalition_left'
                then events.old_value::bigint
        end as coalition_id,
        case
            when events.kind in ('entered_scope', 'left_scope')
                then events.old_value::bigint
        end as campus_before_id,
        case
            when events.kind in ('entered_scope', 'left_scope')
                then events.new_value::bigint
        end as campus_after_id,
        case
            when
                events.kind
                in ('project_finished', 'project_validated', 'project_failed')
                then events.new_value::integer
        end as final_mark,
        case
            when events.kind = 'project_retried'
                then events.new_value::integer
        end as occurrence,
        case
            when events.kind = 'level_changed'
                then events.old_value::numeric
        end as level_before,
        case
            when events.kind = 'level_changed'
                then events.new_value::numeric
        end as level_after,
        case
            when events.kind = 'blackhole_changed'
                then events.old_value::timestamptz
        end as blackholed_at_before,
        case
            when events.kind = 'blackhole_changed'
                then events.new_value::timestamptz
        end as blackholed_at_after
    from events

),

final as (

    select
        typed.event_id,
        typed.kind,
        typed.occurred_at,
        typed.occurred_at_source,
        typed.is_late,
        typed.is_backfill,
        typed.user_id,
        typed.campus_id,
        campuses.name as campus_name,
        typed.subject,
        typed.subject_id,
        typed.project_id,
        projects.name as project_name,
        typed.final_mark,
        typed.occurrence,
        typed.achievement_id,
        achievements.name as achievement_name,
        typed.coalition_id,
        coalitions.name as coalition_name,
        typed.level_before,
        typed.level_after,
        typed.blackholed_at_before,
        typed.blackholed_at_after,
        typed.campus_before_id,
        typed.campus_after_id,
        typed.recorded_at
    from typed
    left join campuses
        on typed.campus_id = campuses.campus_id
    left join projects
        on typed.project_id = projects.project_id
    left join achievements
        on typed.achievement_id = achievements.achievement_id
    left join coalitions
        on typed.coalition_id = coalitions.coalition_id

)

select * from final
