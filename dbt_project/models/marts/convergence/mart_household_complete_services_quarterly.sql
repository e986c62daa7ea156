{#
    Aksi Konvergensi's outcome metric: the share of 1000-HPK households (a pregnant woman or a child
    0–23 months among the scorecard's targets) that received the complete set of interventions in the
    quarter, per kelurahan, kecamatan and city (docs/scorecard.md, "1000-HPK households").
    A household received the complete set when none of the scorecard answers of its pregnant women
    and children 0–23 months is T (every due indicator Y); indicators without data (has_data false)
    are left out, as in the levels. A household with nothing due (only TS) is not counted. A target
    without a linked household counts as a household of its own (unlinked_households). The household's
    kelurahan is its targets' kelurahan (the first known code when they differ).
#}

with answers as (

    select pregnancy_key as target_key, household_key, kelurahan_code, quarter_start, target_group,
        indicator_code, answer
    from {{ ref('int_pregnancy_indicators_quarterly') }}
    where is_quarter_cutoff
    union all
    select child_key, household_key, kelurahan_code, quarter_start, target_group, indicator_code, answer
    from {{ ref('int_child_indicators_quarterly') }}
    where is_quarter_cutoff and target_group = 'anak_0_23'

),

indicators as (

    select indicator_code, has_data from {{ ref('int_convergence_indicators') }}

),

quarters as (

    select quarter, quarter_start, cutoff_date, is_partial_quarter
    from {{ ref('int_convergence_periods') }}
    where is_quarter_cutoff

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

household_answers as (

    select
        coalesce(answers.household_key, 'unlinked:' || answers.target_key) as household_unit,
        answers.household_key is null as is_unlinked,
        answers.kelurahan_code,
        answers.quarter_start,
        answers.target_group,
        answers.answer
    from answers
    inner join indicators
        on indicators.indicator_code = answers.indicator_code
    where indicators.has_data

),

households as (

    select
        household_unit,
        quarter_start,
        bool_or(is_unlinked) as is_unlinked,
        coalesce(min(kelurahan_code) filter (where kelurahan_code <> 'UNKNOWN'), 'UNKNOWN') as kelurahan_code,
        bool_or(target_group = 'ibu_hamil') as has_pregnant_woman,
        bool_or(target_group = 'anak_0_23') as has_child_0_23,
        count(*) filter (where answer = 'T') = 0 as is_complete
    from household_answers
    group by household_unit, quarter_start
    having count(*) filter (where answer in ('Y', 'T')) > 0

),

kelurahan_counts as (

    select
        coalesce(wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        households.quarter_start,
        count(*) as households_1000hpk,
        count(*) filter (where households.has_pregnant_woman) as households_with_pregnant_woman,
        count(*) filter (where households.has_child_0_23) as households_with_child_0_23,
        count(*) filter (where households.is_complete) as households_complete,
        count(*) filter (where households.is_unlinked) as unlinked_households
    from households
    left join wilayah
        on wilayah.kelurahan_code = households.kelurahan_code
    group by coalesce(wilayah.kelurahan_code, 'UNKNOWN'), households.quarter_start

),

kelurahan_rows as (

    select
        wilayah.kelurahan_code,
        wilayah.kelurahan_name,
        wilayah.kecamatan_code,
        wilayah.kecamatan_name,
        wilayah.city_code,
        wilayah.city_name,
        quarters.quarter,
        quarters.quarter_start,
        quarters.cutoff_date,
        quarters.is_partial_quarter,
        coalesce(kelurahan_counts.households_1000hpk, 0) as households_1000hpk,
        coalesce(kelurahan_counts.households_with_pregnant_woman, 0) as households_with_pregnant_woman,
        coalesce(kelurahan_counts.households_with_child_0_23, 0) as households_with_child_0_23,
        coalesce(kelurahan_counts.households_complete, 0) as households_complete,
        coalesce(kelurahan_counts.unlinked_households, 0) as unlinked_households
    from quarters
    cross join wilayah
    left join kelurahan_counts
        on kelurahan_counts.kelurahan_code = wilayah.kelurahan_code
        and kelurahan_counts.quarter_start = quarters.quarter_start

),

all_levels as (

    {{ wilayah_rollup(
        'kelurahan_rows',
        ['quarter', 'quarter_start', 'cutoff_date', 'is_partial_quarter'],
        ['households_1000hpk', 'households_with_pregnant_woman', 'households_with_child_0_23', 'households_complete',
         'unlinked_households']
    ) }}

)

select
    wilayah_level::text as wilayah_level,
    wilayah_code::text as wilayah_code,
    wilayah_name::text as wilayah_name,
    kecamatan_code::text as kecamatan_code,
    quarter::text as quarter,
    quarter_start,
    cutoff_date,
    is_partial_quarter,
    households_1000hpk::integer as households_1000hpk,
    households_with_pregnant_woman::integer as households_with_pregnant_woman,
    households_with_child_0_23::integer as households_with_child_0_23,
    households_complete::integer as households_complete,
    round(100.0 * households_complete / nullif(households_1000hpk, 0), 2)::numeric(5, 2) as complete_pct,
    unlinked_households::integer as unlinked_households
from all_levels
