-- Versions of the achievements the students earned (from the
-- achievements_users mart): a first version when earned, another when the
-- count of successes moves.

{{ config(alias='achievements_users') }}

{{ history_versions(
    'achievements_users',
    key='achievements_user_id',
    attributes=['user_id', 'achievement_id', 'created_at'],
    measures=['nbr_of_success'],
    changed_at='updated_at',
    load_column='_processed_load_id',
) }}
