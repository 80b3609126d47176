-- Versions of the students' enrolment in the cursus: level, grade, blackhole
-- date, end date (from the cursus_users mart).

{{ config(alias='cursus_users') }}

{{ history_versions(
    'cursus_users',
    key='cursus_user_id',
    attributes=['user_id', 'cursus_id', 'begin_at', 'created_at'],
    measures=['level', 'grade', 'blackholed_at', 'end_at'],
    changed_at='updated_at',
    load_column='_processed_load_id',
) }}
