-- Rule: an achievement's campus NAME maps to a kept campus when, with
-- surrounding whitespace removed, it equals the campus name exactly.
-- marts.campus_achievements holds exactly those pairs and marts.achievements
-- exactly the achievements with one at least.

with

kept_names as (

    select
        campus_id,
        btrim(campus_name, E' \t\r\n') as campus_name
    from ({{ raw_kept_campuses() }}) as kept

),

expected_pairs as (

    select distinct
        kept_names.campus_id,
        achievements.id as achievement_id
    from {{ source('intra', 'achievements') }} as achievements
    cross join
        lateral jsonb_array_elements_text(achievements.campus) as campus_name
    inner join kept_names
        on btrim(campus_name.value, E' \t\r\n') = kept_names.campus_name

),

published_pairs as (

    select
        campus_id,
        achievement_id
    from {{ ref('campus_achievements') }}

),

expected_achievements as (

    select distinct achievement_id from expected_pairs

),

published_achievements as (

    select achievement_id from {{ ref('achievements') }}

),

problems as (

    (
        select
            campus_id,
            achievement_id,
            'pair missing' as problem
        from expected_pairs
        except
        select
            campus_id,
            achievement_id,
            'pair missing' as problem
        from published_pairs
    )
    union all
    (
        select
            campus_id,
            achievement_id,
            'pair not named by the achievement' as problem
        from published_pairs
        except
        select
            campus_id,
            achievement_id,
            'pair not named by the achievement' as problem
        from expected_pairs
    )
    union all
    (
        select
            null::bigint as campus_id,
            achievement_id,
            'achievement missing' as problem
        from expected_achievements
        except
        select
            null::bigint as campus_id,
            achievement_id,
            'achievement missing' as problem
        from published_achievements
    )
    union all
    (
        select
            null::bigint as campus_id,
            achievement_id,
            'achievement offered at no kept campus' as problem
        from published_achievements
        except
        select
            null::bigint as campus_id,
            achievement_id,
            'achievement offered at no kept campus' as problem
        from expected_achievements
    )

)

select * from problems
