-- One row per cursus listed in a project's nested `cursus` array.

with

source as (

    select * from {{ source('intra', 'projects') }}

),

unnested as (

    select distinct
        source.id as project_id,
        (cursus.value ->> 'id')::bigint as cursus_id
    from source
    cross join lateral jsonb_array_elements(source.cursus) as cursus

)

select * from unnested
