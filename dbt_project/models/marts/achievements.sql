with

achievements as (

    select * from {{ ref('stg_intra__achievements') }}

),

matched as (

    select * from {{ ref('int_achievement_campuses__matched') }}

),

offered_at_a_kept_campus as (

    select distinct achievement_id
    from matched
    where campus_id is not null

),

final as (

    select
        achievements.achievement_id,
        achievements.name,
        achievements.description,
        achievements.tier,
        achievements.kind,
        achievements.is_visible,
        achievements.image,
        achievements.nbr_of_success,
        achievements.parent_achievement_id,
        achievements.title_id,
        achievements.title_name,
        achievements.users_url
    from achievements
    inner join offered_at_a_kept_campus
        on achievements.achievement_id = offered_at_a_kept_campus.achievement_id

)

select * from final
