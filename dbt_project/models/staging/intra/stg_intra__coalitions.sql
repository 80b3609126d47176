-- One row per coalition nested in a bloc's `coalitions` array, with the bloc's
-- campus and cursus (a coalition object carries neither).

with

source as (

    select * from {{ source('intra', 'blocs') }}

),

unnested as (

    select
        source.id as bloc_id,
        source.campus_id,
        source.cursus_id,
        coalition.value as coalition
    from source
    cross join lateral jsonb_array_elements(source.coalitions) as coalition

),

renamed as (

    select
        ---------- ids
        (coalition ->> 'id')::bigint as coalition_id,
        bloc_id,
        campus_id,
        cursus_id,
        (coalition ->> 'user_id')::bigint as leader_user_id,

        ---------- text
        coalition ->> 'name' as name,
        coalition ->> 'slug' as slug,
        coalition ->> 'image_url' as image_url,
        coalition ->> 'cover_url' as cover_url,
        coalition ->> 'color' as color,

        ---------- numerics
        (coalition ->> 'score')::bigint as score

    from unnested

)

select * from renamed
