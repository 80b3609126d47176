-- The students: kind `student`, not alumni, campus kept (the primary one, else
-- the latest: int_users__primary_campus), enrolled in the cursus. A live mart
-- (live_mart_batch): each run rewrites the users of new loads, those who
-- entered the population, and those whose anonymization date has just passed.

with

batch as (

    {{ live_mart_batch(
        'stg_intra__users', unique_key='user_id', newly_true='is_anonymized'
    ) }}

),

final as (

    select
        user_id,
        login,
        first_name,
        last_name,
        usual_full_name,
        usual_first_name,
        displayname,
        email,
        image_url,
        location,
        kind,
        primary_campus_id as campus_id,
        pool_month,
        pool_year,
        wallet,
        correction_point,
        is_active,
        is_anonymized,
        anonymize_date,
        created_at,
        updated_at,
        {{ current_load_id() }} as _processed_load_id
    from batch

)

select * from final
