-- The kept campuses' time zones as PostgreSQL can use them: the campus's IANA
-- name when PostgreSQL's time zone database knows it, else null. Every local
-- day or hour of the analytics is cut with it; a campus whose zone is unknown
-- gets none (warn_campuses_with_an_unknown_time_zone names it), and nothing
-- else fails. A table: PostgreSQL's list of zones is read from its files at
-- every use, and the analytics use this in several places each build.

{{ config(materialized='table') }}

with

campuses as (

    select * from {{ ref('campuses') }}

),

known as (

    select zones.name from pg_catalog.pg_timezone_names as zones

),

final as (

    select
        campuses.campus_id,
        campuses.name,
        case
            when known.name is not null then campuses.time_zone
        end as time_zone,
        campuses.time_zone as served_time_zone
    from campuses
    left join known
        on campuses.time_zone = known.name

)

select * from final
