{#
    Fails for every value that is null or names no row of the parent (`to`, column
    `field`): dbt's not_null and relationships in one query. A build runs sixteen of these
    on columns that must point somewhere; one dbt node each instead of two (each node costs
    dbt ~25 ms of CPU before its query). For a column that may be null, use relationships.
#}
{% test foreign_key(model, column_name, to, field) %}

with

child as (

    select {{ column_name }} as key_value
    from {{ model }}

),

parent as (

    select {{ field }} as key_value
    from {{ to }}

)

select child.key_value
from child
left join parent
    on child.key_value = parent.key_value
where child.key_value is null or parent.key_value is null

{% endtest %}
