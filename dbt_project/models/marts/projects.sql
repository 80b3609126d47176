with

kept_projects as (

    select * from {{ ref('int_projects__kept') }}

),

final as (

    select
        project_id,
        name,
        slug,
        difficulty,
        parent_project_id,
        is_exam,
        git_id,
        repository,
        recommendation,
        created_at,
        updated_at
    from kept_projects

)

select * from final
