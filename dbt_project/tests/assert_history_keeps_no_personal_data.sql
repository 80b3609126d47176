-- Privacy by construction: the history and the event feed hold ids, measures
-- and times only, so anonymization never has to rewrite them. Fails for every
-- column of schema `history` (or of marts.events) named like personal data.

{% set personal = [
    'login', 'email', 'first_name', 'last_name', 'usual_full_name',
    'usual_first_name', 'displayname', 'image_url', 'image', 'phone',
    'location', 'pool_month', 'pool_year',
] %}

-- depends_on: {{ ref('hist_events') }}
-- depends_on: {{ ref('events') }}

select
    table_schema,
    table_name,
    column_name
from information_schema.columns
where
    (
        table_schema = 'history'
        or (
            table_schema = '{{ ref("events").schema }}'
            and table_name = 'events'
        )
    )
    and column_name in (
        {%- for name in personal %}
            '{{ name }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    )
