{#
    Fails for every version of a history table that breaks the versioning: a
    null key, version, valid_from or recorded_load_id, a valid_to not after its
    valid_from, a key with more than one open version, or a version that starts
    before the one it follows ends. Hourly, it checks the keys whose versions
    this build recorded or closed (published_load_id); a full refresh, every
    key. (The null checks live here rather than as four not_null tests per
    table: one node instead of five, in every build.)
#}
{% test history_versions_are_valid(model, key) %}

with

touched as (

    select distinct {{ key }}
    from {{ model }}
    where {{ recorded_or_closed_since_published() }}

),

versions as (

    select versions.*
    from {{ model }} as versions
    inner join touched
        on versions.{{ key }} = touched.{{ key }}

),

incomplete as (

    select
        {{ key }} as key_value,
        version,
        'a null key, version, valid_from or recorded_load_id' as problem
    from {{ model }}
    where
        (
            {{ key }} is null
            or version is null
            or valid_from is null
            or recorded_load_id is null
        )
        and (
            recorded_load_id is null
            or {{ recorded_or_closed_since_published() }}
        )

),

empty_intervals as (

    select
        {{ key }} as key_value,
        version,
        'valid_to is not after valid_from' as problem
    from versions
    where valid_to <= valid_from

),

open_twice as (

    select
        {{ key }} as key_value,
        max(version) as version,
        'more than one open version' as problem
    from versions
    where valid_to is null
    group by 1
    having count(*) > 1

),

overlapping as (

    select
        later.{{ key }} as key_value,
        later.version,
        'starts before the previous version ends' as problem
    from versions as later
    inner join versions as earlier
        on
            later.{{ key }} = earlier.{{ key }}
            and later.version - 1 = earlier.version
    where earlier.valid_to is null or later.valid_from < earlier.valid_to

)

select * from incomplete
union all
select * from empty_intervals
union all
select * from open_twice
union all
select * from overlapping

{% endtest %}
