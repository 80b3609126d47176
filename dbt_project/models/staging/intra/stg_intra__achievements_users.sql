with

source as (

    {{ live_source_rows('achievements_users') }}

),

renamed as (

    select
        ---------- ids
        id as achievements_user_id,
        achievement_id,
        user_id,

        ---------- numerics
        nbr_of_success,

        ---------- timestamps
        created_at,
        updated_at,

        ---------- load
        _dlt_load_id as load_id

    from source

)

select * from renamed
