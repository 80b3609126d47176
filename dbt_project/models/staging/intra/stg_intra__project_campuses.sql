-- One row per campus listed in a project's nested `campus` array.

with

source as (

    select * from {{ source('intra', 'projects') }}

),

unnested as (

    select distinct
        source.id as project_id,
        (campus.value ->> 'id')::bigint as campus_id
    from source
    cross join lateral jsonb_array_elements(source.campus) as campus

)

select * from unnested
