{#
    The history tables (schema `history`) are built by one macro, history_versions:
    each model names the model whose rows it versions, the row's key, the columns that
    identify it and the measures whose changes make a new version. Documented in
    macros/_macros.yml and in the history models' YAML.

    Why incremental models and not dbt snapshots: a snapshot dates a version by the moment
    it runs (or by updated_at alone, and then misses the changes that do not move it);
    here a version is dated by the API's own time when the row's updated_at moved, by the
    load's time otherwise (and says which), the first build dates what it finds by the
    API's timestamps (a backfill), and versions are numbered, which the event log pairs.
#}

{% macro history_versions(
    current, key, attributes, measures, changed_at,
    new_keys_when='true', backfill_from=none, load_column=none
) -%}
    {{- config(
        unique_key=[key, 'version'],
        incremental_strategy='delete+insert',
        indexes=[
            {'columns': [key, 'version'], 'unique': True},
            {'columns': ['recorded_load_id']},
            {'columns': ['closed_load_id']},
            {'columns': ['user_id']},
        ],
    ) -}}
    {{- history_gate() }}
    {%- set columns = [key] + attributes + measures %}

with

{% if is_incremental() %}

    -- the rows to compare with their open version: those the build wrote since
    -- this table's last batch (with `load_column`), else every row
    candidates as (

        select
            {{ columns | join(', ') }},
            {{ changed_at }} as api_changed_at
        from {{ ref(current) }}
        {% if load_column %}
            where {{ load_column }} > {{ value_when_run(
                "select coalesce(greatest(max(recorded_load_id), "
                ~ "max(closed_load_id)), '') from " ~ this
            ) }}
        {% endif %}

    ),

    compared as (

        select
            candidates.*,
            open_versions.version as open_version,
            open_versions.valid_from as open_valid_from,
            open_versions.api_changed_at as open_api_changed_at
        from candidates
        left join {{ this }} as open_versions
            on
                candidates.{{ key }} = open_versions.{{ key }}
                and open_versions.valid_to is null
        where
            (open_versions.{{ key }} is null and ({{ new_keys_when }}))
            or (
                open_versions.{{ key }} is not null
                and ({{ prefixed('candidates', measures) }})
                is distinct from ({{ prefixed('open_versions', measures) }})
            )

    ),

    -- a row with no open version may have closed ones (it left the marts and
    -- came back): its numbering continues, and it is dated after they ended
    placed as (

        select
            compared.*,
            earlier.version as earlier_version,
            earlier.valid_to as earlier_valid_to
        from compared
        left join lateral (
            select
                versions.version,
                versions.valid_to
            from {{ this }} as versions
            where versions.{{ key }} = compared.{{ key }}
            order by 1 desc
            limit 1
        ) as earlier on compared.open_version is null

    ),

    -- dated by the API when its time moved past the version before; else the
    -- change did not move updated_at, and the run that saw it dates it
    dated as (

        select
            *,
            coalesce(
                case
                    when open_version is not null
                        then api_changed_at > open_api_changed_at
                    when earlier_version is not null
                        then api_changed_at > earlier_valid_to
                    else api_changed_at is not null
                end,
                false
            ) as is_dated_by_api
        from placed

    ),

    new_versions as (

        select
            *,
            coalesce(open_version, earlier_version, 0) + 1 as version,
            case
                when is_dated_by_api
                    then greatest(
                        api_changed_at, open_valid_from + interval '1 microsecond'
                    )
                else {{ run_as_of() }}
            end as valid_from,
            case when is_dated_by_api then 'api' else 'load' end
                as valid_from_source,
            false as is_backfill
        from dated

    ),

    -- the open versions that end: replaced by a new one, or of a row `current`
    -- no longer has (deleted by the API, or its student left)
    closed_versions as (

        select
            open_versions.*,
            new_versions.valid_from as new_valid_to
        from {{ this }} as open_versions
        inner join new_versions
            on open_versions.{{ key }} = new_versions.{{ key }}
        where open_versions.valid_to is null

        union all

        select
            open_versions.*,
            null::timestamptz as new_valid_to
        from {{ this }} as open_versions
        where
            open_versions.valid_to is null
            {% if new_keys_when == 'true' -%}
                -- every row of `current` has one open version, so a key can
                -- only have left when the open versions and the new keys
                -- outnumber the rows; else the anti-join (seconds over a
                -- million open versions) is not run: a condition on no row,
                -- which PostgreSQL evaluates once, before the scan
                and (
                    (
                        select count(*)
                        from {{ this }} as open_now
                        where open_now.valid_to is null
                    )
                    + (
                        select count(*)
                        from compared as new_keys
                        where new_keys.open_version is null
                    )
                ) > (select count(*) from {{ ref(current) }})
            {%- endif %}
            and not exists (
                select 1
                from {{ ref(current) }} as current_rows
                where current_rows.{{ key }} = open_versions.{{ key }}
            )

    ),

{% else %}

    new_versions as (

        select
            {{ columns | join(', ') }},
            {{ changed_at }} as api_changed_at,
            1 as version,
            coalesce(
                {{ backfill_from or 'null' }}, {{ changed_at }}, {{ run_as_of() }}
            ) as valid_from,
            case
                when coalesce({{ backfill_from or 'null' }}, {{ changed_at }}) is null
                    then 'load'
                else 'api'
            end as valid_from_source,
            true as is_backfill
        from {{ ref(current) }} as candidates
        where {{ new_keys_when }}

    ),

{% endif %}

final as (

    select
        {{ columns | join(', ') }},
        api_changed_at,
        version,
        valid_from,
        null::timestamptz as valid_to,
        valid_from_source,
        is_backfill,
        {{ current_load_id() }} as recorded_load_id,
        null::text as closed_load_id
    from new_versions
    {% if is_incremental() %}

        union all

        select
            {{ columns | join(', ') }},
            api_changed_at,
            version,
            valid_from,
            coalesce(new_valid_to, {{ run_as_of() }}) as valid_to,
            valid_from_source,
            is_backfill,
            recorded_load_id,
            {{ current_load_id() }} as closed_load_id
        from closed_versions
    {% endif %}

)

select * from final
{%- endmacro %}

{#
    The history and the event log are written during the build, before the publish: they
    must therefore wait until every test of every mart has passed. dbt runs a test before
    the models downstream of *all* the nodes it tests, so the history models depend on
    every published mart and on the ledger (the scoped tests read it); a failed test then
    skips them and the history stays as it was.
#}
{% macro history_gate() -%}
    {%- for mart in var('published_marts') %}
        -- depends_on: {{ ref(mart) }}
    {%- endfor %}
    -- depends_on: {{ source('elt', 'runs') }}
{%- endmacro %}

{#
    True for a version that the build under test recorded or closed (after the last
    published load): what the hourly tests of a history table check.
#}
{% macro recorded_or_closed_since_published() -%}
    (
        recorded_load_id > {{ published_load_id() }}
        or closed_load_id > {{ published_load_id() }}
    )
{%- endmacro %}

{# `alias.column` for each column, comma-separated: one side of a row
   comparison. #}
{% macro prefixed(alias, columns) -%}
    {{ alias }}.{{ columns | join(', ' ~ alias ~ '.') }}
{%- endmacro %}
