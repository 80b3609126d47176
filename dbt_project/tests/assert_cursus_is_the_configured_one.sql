-- Rule: marts.cursus holds exactly one row, the configured cursus, as the API
-- has it.

with

published as (

    select cursus_id from {{ ref('cursus') }}

),

in_the_api as (

    select id as cursus_id
    from {{ source('intra', 'cursus') }}
    where id = {{ var('cursus_id') }}

),

problems as (

    select
        cursus_id,
        'not the configured cursus' as problem
    from published
    where cursus_id != {{ var('cursus_id') }}
    union all
    select
        cursus_id,
        'configured cursus missing' as problem
    from in_the_api
    where cursus_id not in (select published.cursus_id from published)

)

select * from problems
