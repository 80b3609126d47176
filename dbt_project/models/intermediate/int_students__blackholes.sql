-- One row per blackhole: a student's blackhole date (`blackholed_at` as the
-- API served it) that passed while it was the date the API served (it was not
-- moved before it came) and while the student was in the population (in
-- scope: a student, not alumni, at a kept campus). Read from the history: a
-- version of the enrolment whose blackhole date falls inside the time it was
-- current; for a student's first version (the mirror's first sight), also a
-- date already past then. Not after the enrolment's end. The campus is the
-- student's at that moment. The definition's unit tests are in
-- _intermediate__unit_tests.yml.

with

as_of as (

    select {{ run_as_of() }} as moment

),

enrolment_versions as (

    select * from {{ ref('hist_cursus_users') }}
    where
        cursus_id = {{ var('cursus_id') }}
        and blackholed_at is not null

),

scope_versions as (

    select * from {{ ref('hist_users_scope') }}
    where is_in_scope

),

passed as (

    select distinct
        enrolment_versions.cursus_user_id,
        enrolment_versions.user_id,
        enrolment_versions.blackholed_at
    from enrolment_versions
    cross join as_of
    where
        enrolment_versions.blackholed_at
        <= coalesce(enrolment_versions.valid_to, as_of.moment)
        and (
            enrolment_versions.blackholed_at >= enrolment_versions.valid_from
            or enrolment_versions.version = 1
        )
        and (
            enrolment_versions.end_at is null
            or enrolment_versions.blackholed_at <= enrolment_versions.end_at
        )

),

final as (

    select
        passed.cursus_user_id,
        passed.user_id,
        scope_versions.campus_id,
        passed.blackholed_at
    from passed
    inner join scope_versions
        on
            passed.user_id = scope_versions.user_id
            and passed.blackholed_at >= scope_versions.valid_from
            and (
                scope_versions.valid_to is null
                or passed.blackholed_at < scope_versions.valid_to
            )

)

select * from final
