-- Users enrolled in the cursus. Anonymized users (the intra's `3b3-<id>`
-- pseudonym, or an `anonymize_date` already passed) keep their id and flags but
-- lose every personal field here, so nothing downstream can show them.

with

source as (

    {{ live_source_rows('users') }}

),

flagged as (

    select
        *,
        (
            login like '3b3-%'
            or anonymize_date < {{ run_as_of() }}
        ) as is_anonymized
    from source

),

renamed as (

    select
        ---------- ids
        id as user_id,

        ---------- personal (null once anonymized)
        case when is_anonymized then '3b3-' || id else login end as login,
        case when not is_anonymized then email end as email,
        case when not is_anonymized then first_name end as first_name,
        case when not is_anonymized then last_name end as last_name,
        case
            when not is_anonymized then usual_full_name
        end as usual_full_name,
        case
            when not is_anonymized then usual_first_name
        end as usual_first_name,
        case when not is_anonymized then displayname end as displayname,
        case
            when not is_anonymized then image ->> 'link'
        end as image_url,
        case when not is_anonymized then location end as location,

        ---------- text
        kind,
        pool_month,
        pool_year,

        ---------- numerics
        correction_point,
        wallet,

        ---------- booleans
        is_staff,
        is_alumni,
        is_active,
        is_anonymized,

        ---------- timestamps
        anonymize_date,
        data_erasure_date,
        alumnized_at,
        created_at,
        updated_at,

        ---------- load
        _dlt_load_id as load_id

    from flagged

)

select * from renamed
