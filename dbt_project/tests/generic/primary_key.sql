{#
    Fails for every key value that is null or names more than one row: dbt's unique and
    not_null in one query. A build runs about forty key tests; each dbt node costs ~25 ms of
    CPU before its query, so one node per key instead of two takes a tenth off every build.
#}
{% test primary_key(model, column_name) %}

select
    {{ column_name }} as key_value,
    count(*) as occurrences
from {{ model }}
group by {{ column_name }}
having {{ column_name }} is null or count(*) > 1

{% endtest %}
