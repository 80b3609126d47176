-- One row per campus name listed in an achievement's `campus` array (the API
-- gives names, not ids). `list_position` keeps duplicates apart;
-- `campus_name_trimmed` drops surrounding whitespace, which some names carry.

with

source as (

    select * from {{ source('intra', 'achievements') }}

),

unnested as (

    select
        source.id as achievement_id,
        campus_name.list_position,
        campus_name.value as campus_name
    from source
    cross join
        lateral jsonb_array_elements_text(
            source.campus
        ) with ordinality as campus_name (value, list_position)

),

renamed as (

    select
        achievement_id,
        list_position,
        campus_name,
        regexp_replace(
            campus_name, '^\s+|\s+$', '', 'g'
        ) as campus_name_trimmed

    from unnested

)

select * from renamed
