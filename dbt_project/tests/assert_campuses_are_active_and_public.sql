-- Rule: marts.campuses holds exactly the campuses that are active and public.
-- Checked against the raw API data, both ways (nothing missing, nothing extra).

with

expected as (

    select campus_id from ({{ raw_kept_campuses() }}) as kept

),

published as (

    select campus_id from {{ ref('campuses') }}

),

missing as (

    select campus_id from expected
    except
    select campus_id from published

),

extra as (

    select campus_id from published
    except
    select campus_id from expected

)

select
    campus_id,
    'active and public, but missing' as problem
from missing
union all
select
    campus_id,
    'published, but not active and public' as problem
from extra
