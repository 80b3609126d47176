-- Rule: a membership's rank is 1 + the number of memberships of the same
-- coalition (every member the API lists, student or not) with a higher score:
-- equal scores share a rank, null scores come last. Counted from the raw rows,
-- not with rank(), so that the model's window is checked against its
-- definition.

with

memberships as (

    select
        coalitions_users.coalition_id,
        coalitions_users.score
    from {{ source('intra', 'coalitions_users') }} as coalitions_users
    inner join {{ ref('coalitions') }} as coalitions
        on coalitions_users.coalition_id = coalitions.coalition_id

),

members_per_score as (

    select
        coalition_id,
        score,
        count(*) as members
    from memberships
    group by 1, 2

),

expected as (

    select
        coalition_id,
        score,
        1 + coalesce(
            sum(members) over (
                partition by coalition_id
                order by score desc nulls last
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as expected_rank
    from members_per_score

),

wrong as (

    select
        coalitions_users.coalitions_user_id,
        coalitions_users.coalition_id,
        coalitions_users.score,
        coalitions_users.rank,
        expected.expected_rank
    from {{ ref('coalitions_users') }} as coalitions_users
    left join expected
        on
            coalitions_users.coalition_id = expected.coalition_id
            and coalitions_users.score is not distinct from expected.score
    where coalitions_users.rank is distinct from expected.expected_rank

)

select * from wrong
