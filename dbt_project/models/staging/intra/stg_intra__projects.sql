with

source as (

    select * from {{ source('intra', 'projects') }}

),

renamed as (

    select
        ---------- ids
        id as project_id,
        (parent ->> 'id')::bigint as parent_project_id,
        git_id,

        ---------- text
        name,
        slug,
        repository,
        recommendation,

        ---------- numerics
        difficulty,

        ---------- booleans
        exam as is_exam,

        ---------- timestamps
        created_at,
        updated_at

    from source

)

select * from renamed
