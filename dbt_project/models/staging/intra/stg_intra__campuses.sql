with

source as (

    select * from {{ source('intra', 'campus') }}

),

renamed as (

    select
        ---------- ids
        id as campus_id,
        (language ->> 'id')::bigint as language_id,
        vogsphere_id,

        ---------- text
        name,
        time_zone,
        language ->> 'name' as language_name,
        language ->> 'identifier' as language_identifier,
        country,
        address,
        zip,
        city,
        website,
        facebook,
        twitter,
        email_extension,

        ---------- numerics
        users_count,

        ---------- booleans
        active as is_active,
        public as is_public,
        default_hidden_phone as is_phone_hidden_by_default

    from source

)

select * from renamed
