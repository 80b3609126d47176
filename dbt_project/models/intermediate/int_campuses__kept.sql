-- The campuses the marts are about: active AND public.

with

campuses as (

    select * from {{ ref('stg_intra__campuses') }}

),

kept as (

    select * from campuses
    where is_active and is_public

)

select * from kept
