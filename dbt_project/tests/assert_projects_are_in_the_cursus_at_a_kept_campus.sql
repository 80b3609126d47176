-- Rule: marts.projects holds exactly the projects of the configured cursus that
-- list at least one active and public campus. Checked against the raw nested
-- JSON, both ways.

with

kept_campus_ids as (

    select campus_id from ({{ raw_kept_campuses() }}) as kept

),

expected as (

    select projects.id as project_id
    from {{ source('intra', 'projects') }} as projects
    where
        exists (
            select 1
            from jsonb_array_elements(projects.cursus) as cursus
            where (cursus.value ->> 'id')::bigint = {{ var('cursus_id') }}
        )
        and exists (
            select 1
            from jsonb_array_elements(projects.campus) as campus
            inner join kept_campus_ids
                on (campus.value ->> 'id')::bigint = kept_campus_ids.campus_id
        )

),

published as (

    select project_id from {{ ref('projects') }}

),

missing as (

    select project_id from expected
    except
    select project_id from published

),

extra as (

    select project_id from published
    except
    select project_id from expected

)

select
    project_id,
    'in the cursus at a kept campus, but missing' as problem
from missing
union all
select
    project_id,
    'published, but not in the cursus at a kept campus' as problem
from extra
