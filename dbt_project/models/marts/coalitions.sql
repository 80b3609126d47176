with

coalitions as (

    select * from {{ ref('stg_intra__coalitions') }}

),

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

trimmed as (

    -- the API sometimes omits the '#' or surrounds the colour with whitespace
    select
        bloc_id,
        coalition_id,
        regexp_replace(color, '^\s+|\s+$', '', 'g') as color
    from coalitions

),

final as (

    select
        coalitions.coalition_id,
        coalitions.name,
        coalitions.slug,
        coalitions.image_url,
        coalitions.cover_url,
        case
            when left(trimmed.color, 1) = '#' then trimmed.color
            else '#' || trimmed.color
        end as color,
        coalitions.score,
        coalitions.leader_user_id,
        coalitions.bloc_id,
        coalitions.campus_id,
        coalitions.cursus_id
    from coalitions
    inner join kept_campuses
        on coalitions.campus_id = kept_campuses.campus_id
    inner join trimmed
        on
            coalitions.bloc_id = trimmed.bloc_id
            and coalitions.coalition_id = trimmed.coalition_id
    where coalitions.cursus_id = {{ var('cursus_id') }}

)

select * from final
