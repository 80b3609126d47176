{#
    Fails for every row whose history is not the current state: a row of
    `current` (the model the history versions) without an open version, an open
    version whose measures differ from the row, and an open version of a key
    `current` no longer has. `current_where` restricts the rows that must have
    one (the students in scope, for the history of scope). Hourly, with
    `load_column`, it checks the rows the build wrote and the keys whose
    versions it recorded or closed (published_load_id); else every row.
#}
{% test history_is_current(
    model, current, key, measures, current_where='true', load_column=none
) %}

with

{% if load_column %}

    touched as (

        select {{ key }}
        from {{ ref(current) }}
        where {{ load_column }} > {{ published_load_id() }}

        union

        select {{ key }}
        from {{ model }}
        where {{ recorded_or_closed_since_published() }}

    ),

    current_rows as (

        select current_rows.*
        from {{ ref(current) }} as current_rows
        inner join touched
            on current_rows.{{ key }} = touched.{{ key }}

    ),

    open_versions as (

        select open_versions.*
        from {{ model }} as open_versions
        inner join touched
            on open_versions.{{ key }} = touched.{{ key }}
        where open_versions.valid_to is null

    ),

{% else %}

    current_rows as (

        select * from {{ ref(current) }}

    ),

    open_versions as (

        select * from {{ model }}
        where valid_to is null

    ),

{% endif %}

compared as (

    select
        coalesce(current_rows.{{ key }}, open_versions.{{ key }}) as key_value,
        case
            when open_versions.{{ key }} is null then 'no open version'
            when current_rows.{{ key }} is null then 'open version of a row gone'
            else 'open version differs from the row'
        end as problem
    from current_rows
    full outer join open_versions
        on current_rows.{{ key }} = open_versions.{{ key }}
    where
        (open_versions.{{ key }} is null and ({{ current_where }}))
        or current_rows.{{ key }} is null
        or (
            open_versions.{{ key }} is not null
            and ({{ prefixed('current_rows', measures) }})
            is distinct from ({{ prefixed('open_versions', measures) }})
        )

)

select * from compared

{% endtest %}
