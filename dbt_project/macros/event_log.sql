{#
    The event log (hist_events) turns the history's versions into typed events: these
    macros read the versions recorded or closed since the log's newest batch and name the
    columns of each kind. Documented in macros/_macros.yml and in hist_events' YAML.
#}

{#
    The versions of a history model recorded after the event log's newest batch, each beside
    the version before it (`previous_<measure>`, `has_previous`): what the event log turns
    into events. The event log is written in one transaction, after every history model: a
    build killed before it leaves its versions newer than the log's newest batch, and the
    next build reads them. (Should one be read twice, the log's unique event_key drops it.)
#}
{% macro history_changes(model, key, measures) -%}
    select
        version_now.*,
        version_before.{{ key }} is not null as has_previous,
        {% for measure in measures -%}
    version_before.{{ measure }} as previous_{{ measure }},
        {% endfor -%}
        version_now.recorded_load_id as batch_load_id
    from {{ ref(model) }} as version_now
    left join {{ ref(model) }} as version_before
        on
            version_now.{{ key }} = version_before.{{ key }}
            and version_now.version - 1 = version_before.version
    where version_now.recorded_load_id > {{ event_log_watermark() }}
{%- endmacro %}

{#
    The versions of a history model closed since the event log's last batch with no
    version after them: rows the marts lost (deleted by the API, or their student left).
#}
{% macro history_ends(model, key) -%}
    select
        ended.*,
        ended.closed_load_id as batch_load_id
    from {{ ref(model) }} as ended
    where
        ended.closed_load_id > {{ event_log_watermark() }}
        and not exists (
            select 1
            from {{ ref(model) }} as later
            where
                later.{{ key }} = ended.{{ key }}
                and later.version = ended.version + 1
        )
{%- endmacro %}

{% macro event_log_watermark() -%}
    {%- if is_incremental() -%}
        {{ value_when_run(
            "select coalesce(max(recorded_load_id), '') from " ~ this
        ) }}
    {%- else -%}
        ''
    {%- endif -%}
{%- endmacro %}

{# A timestamp as ISO 8601 text in UTC, the way the API writes its times. #}
{% macro iso_text(column) -%}
    to_char({{ column }} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
{%- endmacro %}

{#
    The columns of one kind of event, named, for the union in hist_events: `kind` is the
    event's name, the other arguments SQL expressions over the history rows read.
    `version` is the event key's last part (kind/subject_id/version): the version the
    event comes from, unless one version gives two events of a kind (a deletion after a
    move: both coalition_left). `is_backfill` is the version's flag unless the event is
    never one (a deletion is seen by a later run, never by the first).
#}
{% macro event_columns(
    kind, occurred_at, occurred_at_source, subject, subject_id,
    old_value='null', new_value='null', project_id='null', campus_id='null',
    version='version', is_backfill='is_backfill'
) -%}
    '{{ kind }}' as kind,
    {{ occurred_at }} as occurred_at,
    {{ occurred_at_source }} as occurred_at_source,
    user_id,
    {{ campus_id }}::bigint as campus_id,
    '{{ subject }}' as subject,
    {{ subject_id }} as subject_id,
    {{ project_id }}::bigint as project_id,
    {{ old_value }}::text as old_value,
    {{ new_value }}::text as new_value,
    ({{ version }})::text as version,
    {{ is_backfill }} as is_backfill,
    batch_load_id
{%- endmacro %}

{#
    One typed value of an event, for marts.events_named: the text `column` (old_value or
    new_value) cast to `type` for the events of `kinds`, null for the others.
#}
{% macro event_value(column, type, kinds) -%}
    case
        when events.kind in ('{{ kinds | join("', '") }}')
            then events.{{ column }}::{{ type }}
    end
{%- endmacro %}
