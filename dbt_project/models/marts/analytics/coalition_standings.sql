-- Per coalition of the cursus's blocs at kept campuses: its student members,
-- those with a score, the total of their scores, the average over the members
-- with a score (coalition tools rank by it: a coalition is not ahead for being
-- bigger), its rank in its bloc by that average, and the API's own score of
-- the coalition.

with

coalitions as (

    select * from {{ ref('coalitions') }}

),

members as (

    select
        coalition_id,
        count(*) as members,
        count(*) filter (where score > 0) as members_with_score,
        coalesce(sum(score), 0) as total_score,
        sum(score) filter (where score > 0) as scored_total
    from {{ ref('coalitions_users') }}
    group by 1

),

final as (

    select
        coalitions.coalition_id,
        coalitions.name as coalition_name,
        coalitions.bloc_id,
        coalitions.campus_id,
        coalesce(members.members, 0)::integer as members,
        coalesce(members.members_with_score, 0)::integer as members_with_score,
        coalesce(members.total_score, 0)::bigint as total_score,
        round(
            members.scored_total::numeric
            / nullif(members.members_with_score, 0),
            2
        ) as average_score,
        rank() over (
            partition by coalitions.bloc_id
            order by
                members.scored_total::numeric
                / nullif(members.members_with_score, 0) desc nulls last
        )::integer as rank_in_bloc,
        coalitions.score as api_score
    from coalitions
    left join members
        on coalitions.coalition_id = members.coalition_id

)

select * from final
