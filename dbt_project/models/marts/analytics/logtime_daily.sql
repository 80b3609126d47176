-- Seconds each student spent on campus, per campus and local day, by the
-- logtime rules (macros/logtime.sql): sessions merged before they are summed,
-- days cut at the campus's local midnight. Incremental: each run counts again,
-- from the first day they touch, the students whose sessions changed, are open
-- or were deleted (logtime_recount); a full run counts everything again.

{{
    config(
        materialized='incremental',
        unique_key=['user_id', 'campus_id', 'day'],
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': ['user_id', 'campus_id', 'day'], 'unique': True},
            {'columns': ['campus_id', 'day']},
            {'columns': ['_processed_load_id']},
        ],
        pre_hook=[
            "{{ logtime_delete_recounted_days() }}",
            "{{ live_mart_delete_users_out_of_scope() }}",
        ],
    )
}}

-- read by the pre-hooks and, in an incremental build, by logtime_recount:
-- depends_on: {{ ref('int_users__scope') }}
-- depends_on: {{ ref('locations') }}
-- depends_on: {{ ref('stg_intra__deleted_locations') }}
-- depends_on: {{ ref('int_campuses__time_zones') }}

with

{% if is_incremental() %}

    recount as (

        {{ logtime_recount() }}

    ),

{% endif %}

sessions as (

    select countable.*
    from {{ ref('int_locations__countable') }} as countable
    {% if is_incremental() %}
        inner join recount
            on
                countable.user_id = recount.user_id
                and countable.campus_id = recount.campus_id
                -- a session that began a cap before the first day recounted
                -- ends before it: earlier ones change nothing from that day on
                and countable.begin_at >= (
                    recount.from_day::timestamp at time zone recount.time_zone
                ) - {{ logtime_session_cap() }}
    {% endif %}
    where countable.exclusion is null

),

islands as (

    {{ logtime_islands('sessions') }}

),

days as (

    {{ logtime_days('islands') }}

),

final as (

    select
        days.user_id,
        days.campus_id,
        days.day,
        days.seconds,
        days.day_seconds,
        days.includes_open_session,
        days.includes_capped_session,
        {{ run_as_of() }} as counted_at,
        {{ current_load_id() }} as _processed_load_id
    from days
    {% if is_incremental() %}
        inner join recount
            on
                days.user_id = recount.user_id
                and days.campus_id = recount.campus_id
                and days.day >= recount.from_day
    {% endif %}

)

select * from final
