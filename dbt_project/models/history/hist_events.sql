-- The event log: one row per change the history tables recorded, typed, with
-- a strictly increasing event_id. Append-only: each build adds the events of
-- the versions recorded since its last batch, numbered after the largest
-- event_id so far, in one transaction; an event_key already in the log is
-- never added again (a re-run, a killed build, a full run). Published as
-- the view marts.events.

{{
    config(
        alias='events',
        incremental_strategy='append',
        indexes=[
            {'columns': ['event_id'], 'unique': True},
            {'columns': ['event_key'], 'unique': True},
            {'columns': ['user_id']},
            {'columns': ['recorded_load_id']},
        ],
    )
}}

with

projects as (

    {{ history_changes(
        'hist_projects_users', 'projects_user_id',
        ['status', 'final_mark', 'is_validated', 'occurrence', 'marked_at'],
    ) }}

),

-- a project's end: dated by its marked_at when the API set a new one, else
-- like its version (a change that did not move updated_at is the run's)
newly_finished as (

    select
        *,
        marked_at is not null
        and (
            not has_previous or marked_at is distinct from previous_marked_at
        ) as is_newly_marked
    from projects
    where
        status = 'finished'
        and (
            not has_previous
            or previous_status is distinct from 'finished'
            or occurrence > previous_occurrence
            or marked_at is distinct from previous_marked_at
        )

),

finished as (

    select
        *,
        case when is_newly_marked then marked_at else valid_from end
            as finished_at,
        case when is_newly_marked then 'api' else valid_from_source end
            as finished_at_source
    from newly_finished

),

cursus as (

    {{ history_changes(
        'hist_cursus_users', 'cursus_user_id',
        ['level', 'grade', 'blackholed_at', 'end_at'],
    ) }}

),

achievements as (

    {{ history_changes(
        'hist_achievements_users', 'achievements_user_id', ['nbr_of_success'],
    ) }}

),

memberships as (

    {{ history_changes(
        'hist_coalitions_users', 'coalitions_user_id', ['coalition_id', 'score'],
    ) }}

),

memberships_ended as (

    {{ history_ends('hist_coalitions_users', 'coalitions_user_id') }}

),

scope as (

    {{ history_changes(
        'hist_users_scope', 'user_id',
        ['campus_id', 'is_in_scope', 'is_alumni', 'is_active'],
    ) }}

),

scope_now as (

    select
        user_id,
        campus_id,
        is_in_scope
    from {{ ref('hist_users_scope') }}
    where valid_to is null

),

changes as (

    select
        {{ event_columns(
            'project_registered', 'coalesce(created_at, valid_from)',
            "case when created_at is null then valid_from_source else 'api' end",
            'projects_user', 'projects_user_id',
            new_value='project_id', project_id='project_id',
        ) }}
    from projects
    where version = 1

    union all

    select
        {{ event_columns(
            'project_finished', 'finished_at', 'finished_at_source',
            'projects_user', 'projects_user_id',
            new_value='final_mark', project_id='project_id',
        ) }}
    from finished

    union all

    select
        {{ event_columns(
            'project_validated', 'finished_at', 'finished_at_source',
            'projects_user', 'projects_user_id',
            new_value='final_mark', project_id='project_id',
        ) }}
    from finished
    where is_validated

    union all

    select
        {{ event_columns(
            'project_failed', 'finished_at', 'finished_at_source',
            'projects_user', 'projects_user_id',
            new_value='final_mark', project_id='project_id',
        ) }}
    from finished
    where not is_validated

    union all

    select
        {{ event_columns(
            'project_retried', 'valid_from', 'valid_from_source',
            'projects_user', 'projects_user_id',
            old_value='previous_occurrence', new_value='occurrence',
            project_id='project_id',
        ) }}
    from projects
    where has_previous and occurrence > previous_occurrence

    union all

    select
        {{ event_columns(
            'level_changed', 'valid_from', 'valid_from_source',
            'cursus_user', 'cursus_user_id',
            old_value='previous_level', new_value='level',
        ) }}
    from cursus
    where has_previous and level is distinct from previous_level

    union all

    select
        {{ event_columns(
            'blackhole_changed', 'valid_from', 'valid_from_source',
            'cursus_user', 'cursus_user_id',
            old_value=iso_text('previous_blackholed_at'),
            new_value=iso_text('blackholed_at'),
        ) }}
    from cursus
    where
        has_previous
        and blackholed_at is distinct from previous_blackholed_at

    union all

    select
        {{ event_columns(
            'achievement_earned', 'coalesce(created_at, valid_from)',
            "case when created_at is null then valid_from_source else 'api' end",
            'achievements_user', 'achievements_user_id',
            new_value='achievement_id',
        ) }}
    from achievements
    where version = 1

    union all

    -- a new membership, dated by the API; or a move to another coalition
    select
        {{ event_columns(
            'coalition_joined',
            'case when version = 1 then coalesce(created_at, valid_from) '
            ~ 'else valid_from end',
            "case when version = 1 and created_at is not null then 'api' "
            ~ 'else valid_from_source end',
            'coalitions_user', 'coalitions_user_id',
            new_value='coalition_id',
        ) }}
    from memberships
    where
        version = 1
        or (
            has_previous
            and coalition_id is distinct from previous_coalition_id
        )

    union all

    select
        {{ event_columns(
            'coalition_left', 'valid_from', 'valid_from_source',
            'coalitions_user', 'coalitions_user_id',
            old_value='previous_coalition_id',
        ) }}
    from memberships
    where has_previous and coalition_id is distinct from previous_coalition_id

    union all

    -- a membership the marts lost while its student stays in scope: the API
    -- deleted it (dated by the run that saw it go)
    select
        {{ event_columns(
            'coalition_left', 'valid_to', "'load'",
            'coalitions_user', 'coalitions_user_id',
            old_value='coalition_id',
            version="version || '/deleted'", is_backfill='false',
        ) }}
    from memberships_ended
    where
        memberships_ended.user_id in (
            select scope_now.user_id
            from scope_now
            where scope_now.is_in_scope
        )

    union all

    select
        {{ event_columns(
            'entered_scope', 'valid_from', 'valid_from_source', 'user', 'user_id',
            old_value='case when previous_is_in_scope then previous_campus_id end',
            new_value='campus_id', campus_id='campus_id',
        ) }}
    from scope
    where
        is_in_scope
        and (
            not has_previous
            or not previous_is_in_scope
            or campus_id is distinct from previous_campus_id
        )

    union all

    select
        {{ event_columns(
            'left_scope', 'valid_from', 'valid_from_source', 'user', 'user_id',
            old_value='previous_campus_id', new_value='campus_id',
            campus_id='previous_campus_id',
        ) }}
    from scope
    where
        has_previous
        and previous_is_in_scope
        and not is_in_scope
        and not (is_alumni and not previous_is_alumni)

    union all

    select
        {{ event_columns(
            'became_alumni', 'valid_from', 'valid_from_source', 'user', 'user_id',
            campus_id='previous_campus_id',
        ) }}
    from scope
    where has_previous and is_alumni and not previous_is_alumni

),

latest_campus as (

    select
        user_id,
        campus_id
    from (
        select
            user_id,
            campus_id,
            row_number() over (
                partition by user_id order by version desc
            ) as recency
        from {{ ref('hist_users_scope') }}
    ) as versions
    where recency = 1

),

keyed as (

    select
        changes.*,
        changes.kind || '/' || changes.subject_id || '/' || changes.version
            as event_key
    from changes

),

new_events as (

    select keyed.*
    from keyed
    {% if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as already_logged
            where already_logged.event_key = keyed.event_key
        )
    {% endif %}

),

final as (

    select
        {% if is_incremental() -%}
            (
                select coalesce(max(already_logged.event_id), 0)
                from {{ this }} as already_logged
            )
        {%- else -%}
            0
        {%- endif %}
        + row_number() over (
            order by new_events.occurred_at, new_events.event_key
        ) as event_id,
        new_events.kind,
        new_events.occurred_at,
        new_events.occurred_at_source,
        new_events.occurred_at_source = 'load' as is_late,
        new_events.is_backfill,
        new_events.user_id,
        coalesce(new_events.campus_id, latest_campus.campus_id) as campus_id,
        new_events.subject,
        new_events.subject_id,
        new_events.project_id,
        new_events.old_value,
        new_events.new_value,
        new_events.event_key,
        {{ run_as_of() }} as recorded_at,
        new_events.batch_load_id as recorded_load_id
    from new_events
    left join latest_campus
        on new_events.user_id = latest_campus.user_id

)

select * from final
