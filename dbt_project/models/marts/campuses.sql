with

kept_campuses as (

    select * from {{ ref('int_campuses__kept') }}

),

final as (

    select
        campus_id,
        name,
        time_zone,
        language_id,
        language_name,
        language_identifier,
        users_count,
        vogsphere_id,
        country,
        address,
        zip,
        city,
        website,
        facebook,
        twitter,
        email_extension,
        is_phone_hidden_by_default
    from kept_campuses

)

select * from final
