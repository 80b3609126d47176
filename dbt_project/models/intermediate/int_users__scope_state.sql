-- Each user's place in the student population, as the history of scope records
-- it (history.users_scope): their campus, whether they are in scope, alumni,
-- active, when they began the configured cursus, and the API's latest time
-- among the rows that decide it (the user, their enrolment, their campus
-- rows): a transfer moves a campus_users row, an admission adds an enrolment,
-- and neither moves the user's own updated_at.

with

scope as (

    select * from {{ ref('int_users__scope') }}

),

users as (

    select * from {{ ref('stg_intra__users') }}

),

enrolments as (

    select
        user_id,
        min(begin_at) as begin_at,
        max(updated_at) as updated_at
    from {{ ref('stg_intra__cursus_users') }}
    where cursus_id = {{ var('cursus_id') }}
    group by 1

),

campus_rows as (

    select
        user_id,
        max(updated_at) as updated_at
    from {{ ref('stg_intra__campus_users') }}
    group by 1

),

final as (

    select
        scope.user_id,
        scope.primary_campus_id as campus_id,
        scope.is_in_scope,
        coalesce(users.is_alumni, false) as is_alumni,
        coalesce(users.is_active, false) as is_active,
        enrolments.begin_at,
        greatest(
            users.updated_at, enrolments.updated_at, campus_rows.updated_at
        ) as changed_at
    from scope
    inner join users
        on scope.user_id = users.user_id
    left join enrolments
        on scope.user_id = enrolments.user_id
    left join campus_rows
        on scope.user_id = campus_rows.user_id

)

select * from final
