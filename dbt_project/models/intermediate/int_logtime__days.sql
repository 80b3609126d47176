-- Logtime per student, campus and local day, counted from scratch from every
-- countable session (the logtime rules: macros/logtime.sql). logtime_daily
-- holds the same numbers, counted again each run only where sessions changed;
-- this view is what its test compares it with, and where the rules' unit
-- tests look.

with

sessions as (

    select * from {{ ref('int_locations__countable') }}
    where exclusion is null

),

islands as (

    {{ logtime_islands('sessions') }}

),

days as (

    {{ logtime_days('islands') }}

)

select * from days
