with

source as (

    {{ live_source_rows('cursus_users') }}

),

renamed as (

    select
        ---------- ids
        id as cursus_user_id,
        ("user" ->> 'id')::bigint as user_id,
        cursus_id,

        ---------- text
        grade,

        ---------- numerics
        level,

        ---------- booleans
        has_coalition,

        ---------- json
        skills,

        ---------- timestamps
        begin_at,
        end_at,
        blackholed_at,
        created_at,
        updated_at,

        ---------- load
        _dlt_load_id as load_id

    from source

)

select * from renamed
