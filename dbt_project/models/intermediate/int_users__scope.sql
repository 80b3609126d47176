-- Who is in the student population the live marts are about, and since which
-- load: kind `student`, not alumni, campus kept (active and public; the campus
-- is the primary one, else the latest: int_users__primary_campus), enrolled in
-- the configured cursus. Computed for every user on each run (tens of thousands
-- of rows: cheap), but only users whose scope or campus changed are written,
-- with the load that changed it, so that the live marts can add
-- the rows of users who entered and drop those who left.

{{
    config(
        materialized='incremental',
        unique_key='user_id',
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['user_id'], 'unique': True}],
    )
}}

with

users as (

    select * from {{ ref('stg_intra__users') }}

),

primary_campus as (

    select * from {{ ref('int_users__primary_campus') }}

),

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

enrolled as (

    select distinct user_id
    from {{ ref('stg_intra__cursus_users') }}
    where cursus_id = {{ var('cursus_id') }}

),

current_scope as (

    select
        users.user_id,
        primary_campus.campus_id as primary_campus_id,
        (
            users.kind = 'student'
            and not coalesce(users.is_alumni, false)
            and kept_campuses.campus_id is not null
            and enrolled.user_id is not null
        ) as is_in_scope
    from users
    left join primary_campus
        on users.user_id = primary_campus.user_id
    left join kept_campuses
        on primary_campus.campus_id = kept_campuses.campus_id
    left join enrolled
        on users.user_id = enrolled.user_id

    union all

    -- a user the API deleted (a tombstone in raw: no longer enrolled, say) is
    -- out of scope, with a row of its own even after a full refresh, so that
    -- the live marts drop their rows whatever build they start from
    select
        deleted.record_id as user_id,
        null::bigint as primary_campus_id,
        false as is_in_scope
    from {{ ref('stg_intra__deleted_users') }} as deleted

),

changed as (

    select current_scope.*
    from current_scope
    {% if is_incremental() %}
        left join {{ this }} as previous
            on current_scope.user_id = previous.user_id
        where
            previous.user_id is null
            or previous.is_in_scope != current_scope.is_in_scope
            or previous.primary_campus_id
            is distinct from current_scope.primary_campus_id
    {% endif %}

),

final as (

    select
        user_id,
        primary_campus_id,
        is_in_scope,
        {{ current_load_id() }} as scope_changed_load_id
    from changed

)

select * from final
