-- Each user's campus: the campus of their primary campus_users row (the most
-- recently updated one, should a transfer have left two); for a user none of
-- whose rows is primary (the API has such students; its own clients fall back
-- to a default campus for them), the campus of their most recent row (latest
-- created_at, then highest id). The ELT reads the campus_users of kept campuses
-- only, so the rule picks among those rows.

with

campus_users as (

    select * from {{ ref('stg_intra__campus_users') }}

),

ranked as (

    select
        user_id,
        campus_id,
        coalesce(is_primary, false) as is_primary,
        row_number() over (
            partition by user_id
            order by
                coalesce(is_primary, false) desc,
                case when is_primary then updated_at else created_at end
                desc nulls last,
                campus_user_id desc
        ) as preference
    from campus_users

),

user_campus as (

    select
        user_id,
        campus_id,
        is_primary
    from ranked
    where preference = 1

)

select * from user_campus
