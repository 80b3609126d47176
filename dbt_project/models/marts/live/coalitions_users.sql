-- The students' coalition memberships (coalitions of the coalitions mart), with
-- score and rank.
--
-- `rank` is computed here from the scores: rank() over the coalition's
-- memberships as the API lists them (every member, student or not), highest
-- score first, equal scores sharing a rank, null scores last. The API's own
-- rank is kept as `api_rank`: it is relative, and when one member's score
-- changes the API re-ranks that member only, so the others' ranks go stale
-- without their updated_at moving, and an incremental read never sees them.
--
-- A table rebuilt on each run, not an incremental model: a rank depends on the
-- whole coalition, so a changed score rewrites the ranks of rows that no new
-- load brings. Rebuilding is the simplest design that is always right, and it
-- is cheap: one row per student and coalition (about 40,000 at network scale),
-- ranked among the memberships of the kept coalitions. An incremental model
-- would have to widen its batch to every member of every coalition with a
-- changed score, a new member or a lost one: more code, for little saved.
-- Every row carries this run's load in `_processed_load_id`, so the scoped
-- tests check every row on each run.

{{
    config(
        materialized='table',
        indexes=[
            {'columns': ['coalitions_user_id'], 'unique': True},
            {'columns': ['user_id']},
        ],
    )
}}

with

coalitions_users as (

    select * from {{ ref('stg_intra__coalitions_users') }}

),

coalitions as (

    select * from {{ ref('coalitions') }}

),

in_scope as (

    select * from {{ ref('int_users__scope') }}
    where is_in_scope

),

ranked as (

    select
        coalitions_users.*,
        rank() over (
            partition by coalitions_users.coalition_id
            order by coalitions_users.score desc nulls last
        ) as score_rank
    from coalitions_users
    inner join coalitions
        on coalitions_users.coalition_id = coalitions.coalition_id

),

final as (

    select
        ranked.coalitions_user_id,
        ranked.user_id,
        ranked.coalition_id,
        ranked.score,
        ranked.score_rank as rank,
        ranked.rank as api_rank,
        ranked.created_at,
        ranked.updated_at,
        {{ current_load_id() }} as _processed_load_id
    from ranked
    inner join in_scope
        on ranked.user_id = in_scope.user_id

)

select * from final
