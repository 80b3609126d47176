-- Campus sessions, one row per session the API serves (tombstones left out).

with

source as (

    {{ live_source_rows('locations') }}

),

renamed as (

    select
        ---------- ids
        id as location_id,
        user_id,
        campus_id,

        ---------- text
        host,

        ---------- booleans
        "primary" as is_primary,

        ---------- timestamps
        begin_at,
        end_at,

        ---------- load
        _dlt_load_id as load_id

    from source

)

select * from renamed
