with

source as (

    {{ live_source_rows('coalitions_users') }}

),

renamed as (

    select
        ---------- ids
        id as coalitions_user_id,
        coalition_id,
        user_id,

        ---------- numerics
        score,
        rank,

        ---------- timestamps
        created_at,
        updated_at,

        ---------- load
        _dlt_load_id as load_id

    from source

)

select * from renamed
