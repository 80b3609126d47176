-- Rule: every row of the live marts belongs to a user of marts.users.

with

published as (

    select user_id from {{ ref('users') }}

),

live_rows as (

    select
        'cursus_users' as mart,
        cursus_user_id as row_id,
        user_id
    from {{ ref('cursus_users') }}
    union all
    select
        'projects_users' as mart,
        projects_user_id as row_id,
        user_id
    from {{ ref('projects_users') }}
    union all
    select
        'achievements_users' as mart,
        achievements_user_id as row_id,
        user_id
    from {{ ref('achievements_users') }}
    union all
    select
        'coalitions_users' as mart,
        coalitions_user_id as row_id,
        user_id
    from {{ ref('coalitions_users') }}

),

orphans as (

    select live_rows.*
    from live_rows
    left join published
        on live_rows.user_id = published.user_id
    where published.user_id is null

)

select * from orphans
