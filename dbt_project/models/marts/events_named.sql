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
        {{ event_value('new_value', 'bigint', ['achievement_earned']) }}
            as achievement_id,
        case
            when events.kind = 'coalition_joined'
                then events.new_value::bigint
            when events.kind = 'coalition_left'
                then events.old_value::bigint
        end as coalition_id,
        {{ event_value(
            'old_value', 'bigint', ['entered_scope', 'left_scope'],
        ) }}
            as campus_before_id,
        {{ event_value(
            'new_value', 'bigint', ['entered_scope', 'left_scope'],
        ) }}
            as campus_after_id,
        {{ event_value(
            'new_value', 'integer',
            ['project_finished', 'project_validated', 'project_failed'],
        ) }}
            as final_mark,
        {{ event_value('new_value', 'integer', ['project_retried']) }}
            as occurrence,
        {{ event_value('old_value', 'numeric', ['level_changed']) }}
            as level_before,
        {{ event_value('new_value', 'numeric', ['level_changed']) }}
            as level_after,
        {{ event_value('old_value', 'timestamptz', ['blackhole_changed']) }}
            as blackholed_at_before,
        {{ event_value('new_value', 'timestamptz', ['blackhole_changed']) }}
            as blackholed_at_after
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
