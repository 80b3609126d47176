-- Volume guard: no mart of this build may have lost more than a share of the
-- rows its published version (schema `marts`) has. A cursus id the API does
-- not know, an endpoint answering [] or a filter silently ignored would
-- otherwise publish empty marts, and every other test passes on an empty
-- table.
--
-- The share is the environment variable INTRA_MAX_MART_SHRINK (default 0.5:
-- a mart may not lose half its rows in one run). A real shrink (campuses
-- closing) is accepted by `make elt-full ELT_ARGS=--accept-shrink`, which sets
-- it to 1. Nothing is compared on the first build (nothing published yet).

{% set marts = var('published_marts') %}
{# read when the test runs, not at parse: see macros/run_as_of.sql #}
{% set max_shrink = (
    env_var('INTRA_MAX_MART_SHRINK', '0.5') if execute else '0.5'
) | float %}

with

row_counts as (

    {% for name in marts %}
        select
            '{{ name }}' as mart,
            (select count(*) from {{ ref(name) }}) as built_rows,
            {{ published_row_count(name) }} as published_rows
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

shrunk as (

    select
        mart,
        built_rows,
        published_rows,
        round(1 - built_rows::numeric / published_rows, 3) as share_lost
    from row_counts
    where
        published_rows > 0
        and built_rows < published_rows * (1 - {{ max_shrink }})

)

select * from shrunk
