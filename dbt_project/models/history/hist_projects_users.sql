-- Versions of the students' projects: status, final mark, validation, attempt,
-- marking date (from the projects_users mart).

{{ config(alias='projects_users') }}

{{ history_versions(
    'projects_users',
    key='projects_user_id',
    attributes=['user_id', 'project_id', 'created_at'],
    measures=['status', 'final_mark', 'is_validated', 'occurrence', 'marked_at'],
    changed_at='updated_at',
    load_column='_processed_load_id',
) }}
