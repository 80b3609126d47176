{#
    The live raw tables keep a tombstone for each row the API deleted (found by a
    full run: `_intra_deleted`, nothing but the id and the load that found it).
    The staging models of the live tables read the rows that live (live_source_rows);
    the stg_intra__deleted_<table> models read the tombstones (deleted_source_rows), and
    the incremental marts delete those rows whatever build they start from
    (live_mart_batch). One deletions model per table rather than one union: a first
    backfill cut short builds the marts of the tables it loaded, and a union would
    depend on all of them. Documented in macros/_macros.yml.
#}

{% macro live_source_rows(table) -%}
    select * from {{ source('intra', table) }}
    where _intra_deleted is not true
{%- endmacro %}

{% macro deleted_source_rows(table) -%}
    select
        id as record_id,
        _dlt_load_id as load_id
    from {{ source('intra', table) }}
    where _intra_deleted
{%- endmacro %}
