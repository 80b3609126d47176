with

source as (

    {{ live_source_rows('campus_users') }}

),

renamed as (

    select
        ---------- ids
        id as campus_user_id,
        user_id,
        campus_id,

        ---------- booleans
        is_primary,

        ---------- timestamps
        created_at,
        updated_at,

        ---------- load
        _dlt_load_id as load_id

    from source

)

select * from renamed
