-- Per coalition and month (UTC): the standing at the month's end, from the
-- history of the memberships (the API keeps no score history; these are the
-- mirror's own): members, total score, average over members with a score, and
-- rank in the bloc by that average. Incremental: an hourly run rebuilds the
-- current and the previous month.

{{
    config(
        materialized='incremental',
        unique_key=['coalition_id', 'month'],
        incremental_strategy='delete+insert',
        pre_hook="{{ analytics_delete_older_months('month') }}",
        indexes=[{'columns': ['coalition_id', 'month'], 'unique': True}],
    )
}}

with

months as (

    {{ analytics_months(
        "select min(valid_from) from " ~ ref('hist_coalitions_users')
    ) }}

),

coalitions as (

    select * from {{ ref('coalitions') }}

),

memberships as (

    select
        months.month,
        versions.coalition_id,
        count(*) as members,
        count(*) filter (where versions.score > 0) as members_with_score,
        coalesce(sum(versions.score), 0) as total_score,
        sum(versions.score) filter (where versions.score > 0) as scored_total
    from months
    inner join {{ ref('hist_coalitions_users') }} as versions
        on
            months.month_end > versions.valid_from
            and (
                versions.valid_to is null
                or months.month_end <= versions.valid_to
            )
    group by 1, 2

),

final as (

    select
        coalitions.coalition_id,
        months.month,
        coalesce(memberships.members, 0)::integer as members,
        coalesce(memberships.total_score, 0)::bigint as total_score,
        round(
            memberships.scored_total::numeric
            / nullif(memberships.members_with_score, 0),
            2
        ) as average_score,
        rank() over (
            partition by coalitions.bloc_id, months.month
            order by
                memberships.scored_total::numeric
                / nullif(memberships.members_with_score, 0) desc nulls last
        )::integer as rank_in_bloc
    from months
    cross join coalitions
    left join memberships
        on
            months.month = memberships.month
            and coalitions.coalition_id = memberships.coalition_id

)

select * from final
{{ analytics_published_older_months('month') }}
