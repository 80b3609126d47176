-- Rule: marts.users holds exactly the users of kind student, not alumni, whose
-- campus is active and public, enrolled in the configured cursus, each at that
-- campus. A user's campus is the campus of their primary campus_users row (the
-- latest updated, should there be two); for a user none of whose rows is
-- primary, the campus of their latest row (created_at, then id). Computed from
-- the raw API data (the campus_users of kept campuses: the only ones the ELT
-- reads), both ways.

with

kept_campus_ids as (

    select campus_id from ({{ raw_kept_campuses() }}) as kept

),

memberships_by_user as (

    select
        user_id,
        array_agg(campus_id order by updated_at desc, id desc)
        filter (where is_primary) as primary_campus_ids,
        array_agg(campus_id order by created_at desc, id desc) as campus_ids
    from {{ source('intra', 'campus_users') }}
    group by 1

),

user_campus as (

    select
        user_id,
        coalesce(primary_campus_ids[1], campus_ids[1]) as campus_id
    from memberships_by_user

),

enrolled as (

    select distinct ("user" ->> 'id')::bigint as user_id
    from {{ source('intra', 'cursus_users') }}
    where cursus_id = {{ var('cursus_id') }}

),

expected as (

    select
        users.id as user_id,
        user_campus.campus_id
    from {{ source('intra', 'users') }} as users
    inner join user_campus
        on users.id = user_campus.user_id
    inner join kept_campus_ids
        on user_campus.campus_id = kept_campus_ids.campus_id
    inner join enrolled
        on users.id = enrolled.user_id
    where
        users.kind = 'student'
        and users.is_alumni is not true

),

published as (

    select
        user_id,
        campus_id
    from {{ ref('users') }}

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

),

elsewhere as (

    select published.user_id
    from published
    inner join expected
        on published.user_id = expected.user_id
    where published.campus_id is distinct from expected.campus_id

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
union all
select
    user_id,
    'published at another campus than the rule gives' as problem
from elsewhere
