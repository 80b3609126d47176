with

source as (

    select * from {{ source('intra', 'blocs') }}

),

renamed as (

    select
        ---------- ids
        id as bloc_id,
        campus_id,
        cursus_id,

        ---------- numerics
        squad_size,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
