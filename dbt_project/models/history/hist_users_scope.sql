-- Versions of each student's place in the population: campus, in scope or not,
-- alumni, active. A user gets a first version when they are first in scope,
-- and keeps being followed after they leave it. The first build dates a
-- student's first version by their cursus's begin_at (a backfill).

{{ config(alias='users_scope') }}

{{ history_versions(
    'int_users__scope_state',
    key='user_id',
    attributes=[],
    measures=['campus_id', 'is_in_scope', 'is_alumni', 'is_active'],
    changed_at='changed_at',
    new_keys_when='candidates.is_in_scope',
    backfill_from='begin_at',
) }}
