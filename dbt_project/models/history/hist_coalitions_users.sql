-- Versions of the students' coalition memberships: coalition and score (from
-- the coalitions_users mart; the rank is not kept: one score moves the ranks
-- of a whole coalition).

{{ config(alias='coalitions_users') }}

{{ history_versions(
    'coalitions_users',
    key='coalitions_user_id',
    attributes=['user_id', 'created_at'],
    measures=['coalition_id', 'score'],
    changed_at='updated_at',
) }}
