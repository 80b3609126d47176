-- Each user's primary campus: the campus of their primary campus_users row (the
-- most recently updated one, should a transfer have left two).

with

campus_users as (

    select * from {{ ref('stg_intra__campus_users') }}

),

ranked as (

    select
        user_id,
        campus_id,
        row_number() over (
            partition by user_id
            order by updated_at desc, campus_user_id desc
        ) as recency
    from campus_users
    where is_primary

),

primary_campus as (

    select
        user_id,
        campus_id
    from ranked
    where recency = 1

)

select * from primary_campus
