-- Rule: anonymized users (login `3b3-<id>`, or anonymize_date passed) keep
-- their id and progress but no personal field, in the marts and in raw.

with

published as (

    select
        user_id,
        'marts.users' as relation
    from {{ ref('users') }}
    where
        (
            login like '3b3-%'
            or anonymize_date < {{ run_as_of() }}
        )
        and (
            login != '3b3-' || user_id
            or email is not null
            or first_name is not null
            or last_name is not null
            or usual_full_name is not null
            or displayname is not null
            or image_url is not null
        )

),

in_raw as (

    select
        id as user_id,
        'raw.users' as relation
    from {{ source('intra', 'users') }}
    where
        (
            login like '3b3-%'
            or anonymize_date < {{ run_as_of() }}
        )
        and (
            login != '3b3-' || id
            or email is not null
            or first_name is not null
            or last_name is not null
            or image is not null
        )

)

select * from published
union all
select * from in_raw
