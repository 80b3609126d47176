{#
    The logtime rules, in one place (documented in macros/_macros.yml and in the
    analytics docs, "logtime"): a student's countable sessions at a campus are
    merged into islands (the union of their intervals: overlapping, nested and
    duplicate sessions count once), then each island is cut at the campus's
    local midnights (or local hours) with PostgreSQL's time zone database, so
    that a day never holds more than its own length (23 or 25 hours on the days
    the clocks change).

    `sessions` names a relation (a CTE) with the columns of
    int_locations__countable: user_id, campus_id, time_zone, location_id,
    begin_at, counted_end, is_open, is_capped.
#}

{% macro logtime_islands(sessions) -%}
    select
        user_id,
        campus_id,
        time_zone,
        min(begin_at) as begin_at,
        max(counted_end) as end_at,
        -- where the island's open and capped sessions lie: only the days they
        -- touch are flagged (an island's earlier, settled days are not counted
        -- again when its open session closes, so they must not say "open")
        min(begin_at) filter (where is_open) as open_begin_at,
        min(begin_at) filter (where is_capped) as capped_begin_at,
        max(counted_end) filter (where is_capped) as capped_end_at
    from (
        select
            *,
            -- a new island starts where a session begins after every earlier
            -- one ended (a session that begins as another ends continues it)
            count(*) filter (
                where reached is null or begin_at > reached
            ) over (
                partition by user_id, campus_id
                order by begin_at, counted_end, location_id
                rows unbounded preceding
            ) as island
        from (
            select
                *,
                max(counted_end) over (
                    partition by user_id, campus_id
                    order by begin_at, counted_end, location_id
                    rows between unbounded preceding and 1 preceding
                ) as reached
            from {{ sessions }}
        ) as ordered
    ) as numbered
    group by user_id, campus_id, time_zone, island
{%- endmacro %}

{#
    One row per student, campus and local day an island touches: the seconds
    of the day inside islands, the day's own length, and whether an open or
    a capped session counts on that day.
#}
{% macro logtime_days(islands) -%}
    select
        pieces.user_id,
        pieces.campus_id,
        pieces.day,
        sum(pieces.seconds)::integer as seconds,
        pieces.day_seconds::integer as day_seconds,
        bool_or(pieces.includes_open_session) as includes_open_session,
        bool_or(pieces.includes_capped_session) as includes_capped_session
    from (
        select
            islands.user_id,
            islands.campus_id,
            local_day.day,
            extract(
                epoch from least(islands.end_at, bounds.day_end)
                - greatest(islands.begin_at, bounds.day_start)
            ) as seconds,
            extract(epoch from bounds.day_end - bounds.day_start) as day_seconds,
            -- an open session counts up to the island's end, the run's time
            coalesce(islands.open_begin_at < bounds.day_end, false)
            as includes_open_session,
            coalesce(
                islands.capped_begin_at < bounds.day_end
                and islands.capped_end_at > bounds.day_start,
                false
            ) as includes_capped_session
        from {{ islands }} as islands
        cross join lateral (
            select series::date as day
            from generate_series(
                (islands.begin_at at time zone islands.time_zone)::date,
                (islands.end_at at time zone islands.time_zone)::date,
                interval '1 day'
            ) as series
        ) as local_day
        cross join lateral (
            select
                local_day.day::timestamp at time zone islands.time_zone as day_start,
                (local_day.day + 1)::timestamp at time zone islands.time_zone
                as day_end
        ) as bounds
    ) as pieces
    group by pieces.user_id, pieces.campus_id, pieces.day, pieces.day_seconds
    -- whole seconds: a day that rounds to none has no row (API times carry
    -- milliseconds, so a login 0.3 s before midnight leaves 0.3 s on that day)
    having round(sum(pieces.seconds)) >= 1
{%- endmacro %}

{#
    The students and campuses whose logtime_daily a build counts again, and
    from which local day: those with a session this build wrote (new, closed,
    or of a student who entered the population), still growing when the
    mart's rows were counted (open, or with a logout after that time, and not
    capped yet: it grows with the run's time), or deleted since. Read by the
    model and by its pre-hook. A session growing then was counted again by
    every build since it began, so the mart's latest `counted_at` is the time
    to compare with.
#}
{% macro logtime_recount() -%}
    select
        changed.user_id,
        changed.campus_id,
        time_zones.time_zone,
        min((changed.begin_at at time zone time_zones.time_zone)::date) as from_day
    from (
        select
            user_id,
            campus_id,
            begin_at
        from {{ ref('locations') }}
        where _processed_load_id > {{ processed_load_id() }}
        union all
        select
            user_id,
            campus_id,
            begin_at
        from {{ ref('locations') }}
        where
            begin_at + {{ logtime_session_cap() }} > {{ logtime_counted_at() }}
            and coalesce(end_at, 'infinity') > {{ logtime_counted_at() }}
        union all
        select
            user_id,
            campus_id,
            begin_at
        from {{ ref('stg_intra__deleted_locations') }}
        where load_id > {{ processed_load_id() }}
    ) as changed
    inner join {{ ref('int_campuses__time_zones') }} as time_zones
        on changed.campus_id = time_zones.campus_id
    where time_zones.time_zone is not null
    group by changed.user_id, changed.campus_id, time_zones.time_zone
{%- endmacro %}

{# When logtime_daily last counted: the API time its last build judged at. #}
{% macro logtime_counted_at() -%}
    (select max(counted_at) from {{ this }})
{%- endmacro %}

{# Pre-hook of logtime_daily: the days it is about to count again go first. #}
{% macro logtime_delete_recounted_days() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as days
        using ({{ logtime_recount() }}) as recount
        where
            days.user_id = recount.user_id
            and days.campus_id = recount.campus_id
            and days.day >= recount.from_day
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{# The session cap (var logtime_session_cap_hours) as an interval. #}
{% macro logtime_session_cap() -%}
    interval '{{ var("logtime_session_cap_hours") }} hours'
{%- endmacro %}
