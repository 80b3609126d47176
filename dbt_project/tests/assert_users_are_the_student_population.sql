-- Rule: marts.users holds exactly the users of kind student, not alumni, whose
-- primary campus (latest primary membership) is active and public, enrolled in
-- the configured cursus. Computed from the raw API data, both ways.

with

kept_campus_ids as (

    select id as campus_id
    from {{ source('intra', 'campus') }}
    where active and public

),

latest_primary as (

    select
        user_id,
        campus_id
    from (
        select
            user_id,
            campus_id,
            row_number() over (
                partition by user_id
                order by updated_at desc, id desc
            ) as recency
        from {{ source('intra', 'campus_users') }}
        where is_primary
    ) as ranked
    where recency = 1

),

enrolled as (

    select distinct ("user" ->> 'id')::bigint as user_id
    from {{ source('intra', 'cursus_users') }}
    where cursus_id = {{ var('cursus_id') }}

),

expected as (

    select users.id as user_id
    from {{ source('intra', 'users') }} as users
    inner join latest_primary
        on users.id = latest_primary.user_id
    inner join kept_campus_ids
        on latest_primary.campus_id = kept_campus_ids.campus_id
    inner join enrolled
        on users.id = enrolled.user_id
    where
        users.kind = 'student'
        and users.is_alumni is not true

),

published as (

    select user_id from {{ ref('users') }}

),

missing as (

    select user_id from expected
    except
    select user_id from published

),

extra as (

    select user_id from published
    except
    select user_id from expected

)

select
    user_id,
    'a student of the population, missing' as problem
from missing
union all
select
    user_id,
    'published, but not a student of the population' as problem
from extra
