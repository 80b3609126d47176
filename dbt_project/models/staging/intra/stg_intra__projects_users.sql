with

source as (

    {{ live_source_rows('projects_users') }}

),

renamed as (

    select
        ---------- ids
        id as projects_user_id,
        ("user" ->> 'id')::bigint as user_id,
        (project ->> 'id')::bigint as project_id,
        current_team_id,

        ---------- text
        status,

        ---------- numerics
        occurrence,
        final_mark,

        ---------- booleans
        is_validated,
        marked as is_marked,

        ---------- json
        cursus_ids,

        ---------- timestamps
        marked_at,
        retriable_at,
        created_at,
        updated_at,

        ---------- load
        _dlt_load_id as load_id

    from source

)

select * from renamed
