-- Rule: marts.coalitions holds exactly the coalitions of the configured
-- cursus's blocs at active and public campuses, each with its bloc's campus and
-- cursus.

with

kept_campus_ids as (

    select campus_id from ({{ raw_kept_campuses() }}) as kept

),

expected as (

    select
        (coalition.value ->> 'id')::bigint as coalition_id,
        blocs.campus_id,
        blocs.cursus_id
    from {{ source('intra', 'blocs') }} as blocs
    cross join lateral jsonb_array_elements(blocs.coalitions) as coalition
    where
        blocs.cursus_id = {{ var('cursus_id') }}
        and blocs.campus_id in (
            select kept_campus_ids.campus_id from kept_campus_ids
        )

),

published as (

    select
        coalition_id,
        campus_id,
        cursus_id
    from {{ ref('coalitions') }}

),

missing as (

    select * from expected
    except
    select * from published

),

extra as (

    select * from published
    except
    select * from expected

)

select
    coalition_id,
    campus_id,
    cursus_id,
    'kept coalition missing or with the wrong bloc' as problem
from missing
union all
select
    coalition_id,
    campus_id,
    cursus_id,
    'coalition of another cursus or a dropped campus' as problem
from extra
