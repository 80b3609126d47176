with

source as (

    select * from {{ source('intra', 'cursus') }}

),

renamed as (

    select
        ---------- ids
        id as cursus_id,

        ---------- text
        name,
        slug,
        kind,

        ---------- timestamps
        created_at

    from source

)

select * from renamed
