-- dlt's ledger of loads, one row per load package. The live marts record the
-- newest complete load they processed (macro current_load_id).

with

source as (

    select * from {{ source('intra', '_dlt_loads') }}

),

renamed as (

    select
        load_id,
        schema_name,
        status,
        schema_version_hash,
        inserted_at
    from source

)

select * from renamed
