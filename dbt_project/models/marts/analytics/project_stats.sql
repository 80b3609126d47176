-- Per project, per campus and for the whole network (campus_id null): how many
-- students registered, are working on it, finished and validated it, the
-- first-try pass rate (the first attempt validated, among first attempts
-- graded), the eventual pass rate (students who ever validated among those
-- who ever finished an attempt), marks, days from registration to the first
-- validation (from the history, so a validated project retried later still
-- counts its first validation) and retries per student. A student's campus is
-- their current one.

with

projects_users as (

    select * from {{ ref('projects_users') }}

),

users as (

    select * from {{ ref('users') }}

),

projects as (

    select * from {{ ref('projects') }}

),

first_validations as (

    select
        projects_user_id,
        min(coalesce(marked_at, valid_from)) as validated_at
    from {{ ref('hist_projects_users') }}
    where is_validated
    group by 1

),

registrations as (

    select
        projects_users.*,
        users.campus_id,
        extract(
            epoch from first_validations.validated_at
            - projects_users.created_at
        ) / 86400.0 as days_to_validation
    from projects_users
    inner join users
        on projects_users.user_id = users.user_id
    left join first_validations
        on projects_users.projects_user_id = first_validations.projects_user_id

),

counted as (

    select
        project_id,
        campus_id,
        count(*) as registrations,
        count(*) filter (where status not in ('finished', 'parent'))
            as in_progress,
        count(*) filter (where status = 'finished') as finished,
        count(*) filter (where is_validated) as validated,
        count(*) filter (
            where first_attempt_status = 'finished'
        ) as first_attempts_finished,
        count(*) filter (
            where first_attempt_status = 'finished'
            and first_attempt_is_validated
        ) as first_attempts_validated,
        count(*) filter (where has_finished_attempt) as students_finished,
        count(*) filter (where has_validated_attempt) as students_validated,
        avg(final_mark) filter (
            where status = 'finished'
        ) as average_final_mark,
        percentile_cont(0.5) within group (order by final_mark) filter (
            where status = 'finished'
        ) as median_final_mark,
        percentile_cont(0.5) within group (
            order by days_to_validation
        ) as median_days_to_validation,
        avg(greatest(attempts - 1, 0)) filter (
            where attempts > 0
        ) as retries_per_student
    from registrations
    -- noqa: disable=AM06
    group by grouping sets ((project_id, campus_id), (project_id))
    -- noqa: enable=AM06

),

final as (

    select
        counted.project_id,
        projects.name as project_name,
        counted.campus_id,
        {{ milestone_of('projects.name') }} as milestone,
        counted.registrations::integer as registrations,
        counted.in_progress::integer as in_progress,
        counted.finished::integer as finished,
        counted.validated::integer as validated,
        counted.first_attempts_finished::integer as first_attempts_finished,
        counted.first_attempts_validated::integer as first_attempts_validated,
        round(
            counted.first_attempts_validated::numeric
            / nullif(counted.first_attempts_finished, 0),
            4
        ) as first_try_pass_rate,
        counted.students_finished::integer as students_finished,
        counted.students_validated::integer as students_validated,
        round(
            counted.students_validated::numeric
            / nullif(counted.students_finished, 0),
            4
        ) as eventual_pass_rate,
        round(counted.average_final_mark, 2) as average_final_mark,
        round(counted.median_final_mark::numeric, 2) as median_final_mark,
        round(counted.median_days_to_validation::numeric, 2)
            as median_days_to_validation,
        round(counted.retries_per_student, 3) as retries_per_student
    from counted
    inner join projects
        on counted.project_id = projects.project_id

)

select * from final
