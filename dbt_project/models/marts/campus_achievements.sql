with

matched as (

    select * from {{ ref('int_achievement_campuses__matched') }}

),

final as (

    -- distinct: a list may name a campus twice, e.g. "Lyon" and "Lyon "
    select distinct
        campus_id,
        achievement_id
    from matched
    where campus_id is not null

)

select * from final
