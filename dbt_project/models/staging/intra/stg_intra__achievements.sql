with

source as (

    select * from {{ source('intra', 'achievements') }}

),

renamed as (

    select
        ---------- ids
        id as achievement_id,
        (parent ->> 'id')::bigint as parent_achievement_id,
        (title ->> 'id')::bigint as title_id,

        ---------- text
        name,
        description,
        tier,
        kind,
        image,
        users_url,
        title ->> 'name' as title_name,

        ---------- numerics
        nbr_of_success,

        ---------- booleans
        visible as is_visible

    from source

)

select * from renamed
