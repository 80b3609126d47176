-- The students' campus sessions (at kept campuses), as the API serves them:
-- logtime_daily counts them by the logtime rules. A live mart
-- (live_mart_batch); the sessions of a student anonymized since they were
-- written lose their host (post-hook), and a session the API now serves
-- without a campus or a user leaves (pre-hook).

with

batch as (

    {{ live_mart_batch(
        'stg_intra__locations',
        unique_key='location_id',
        reference=('campus_id', 'campuses'),
        post_hooks=["{{ locations_forget_hosts_of_anonymized_users() }}"],
        pre_hooks=["{{ locations_delete_sessions_gone_astray() }}"],
        indexes=[{'columns': ['begin_at']}],
    ) }}

),

campuses as (

    select * from {{ ref('campuses') }}

),

users as (

    select * from {{ ref('users') }}

),

final as (

    select
        batch.location_id,
        batch.user_id,
        batch.campus_id,
        case when not users.is_anonymized then batch.host end as host,
        batch.is_primary,
        batch.begin_at,
        batch.end_at,
        {{ current_load_id() }} as _processed_load_id
    from batch
    inner join campuses
        on batch.campus_id = campuses.campus_id
    inner join users
        on batch.user_id = users.user_id

)

select * from final
