with

cursus as (

    select * from {{ ref('stg_intra__cursus') }}

),

configured as (

    select
        cursus_id,
        name,
        slug,
        kind,
        created_at
    from cursus
    where cursus_id = {{ var('cursus_id') }}

)

select * from configured
