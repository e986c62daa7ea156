{#
    The scorecard per wilayah, quarter and indicator: targets and the count of Y, T, TS and TD answers
    (TD: due but unknown, e.g. a household whose water is not known; it stays in the level's denominator).
    Targets are the e-PPGBM children, the children under two known only from DTSEN or BKKBN
    (register_only_targets, never weighed) and the registered pregnancies (docs/scorecard.md, "Targets").
    Every kelurahan of dim_wilayah (UNKNOWN included) appears in every evaluated quarter; a kelurahan
    code that is not in dim_wilayah counts under UNKNOWN. Kecamatan and city rows are sums of the
    kelurahan rows. A partial quarter (data_date before the quarter's end) is judged to its cut-off.
    An indicator none of whose sources is configured (has_data false) has its targets but null Y/T/TS
    counts: "no data", not zero coverage (docs/scorecard.md, "Sources and no data").
#}

with answers as (

    select kelurahan_code, quarter_start, target_group, indicator_code, answer, 'pregnancies' as target_source
    from {{ ref('int_pregnancy_indicators_quarterly') }}
    where is_quarter_cutoff
    union all
    select kelurahan_code, quarter_start, target_group, indicator_code, answer, target_source
    from {{ ref('int_child_indicators_quarterly') }}
    where is_quarter_cutoff

),

quarters as (

    select quarter, quarter_start, cutoff_date, is_partial_quarter
    from {{ ref('int_convergence_periods') }}
    where is_quarter_cutoff

),

indicators as (

    select * from {{ ref('int_convergence_indicators') }}

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

kelurahan_counts as (

    select
        coalesce(wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        answers.quarter_start,
        answers.indicator_code,
        count(*) as targets,
        count(*) filter (where answers.target_source in ('dtsen', 'bkkbn')) as register_only_targets,
        count(*) filter (where answers.answer = 'Y') as y_count,
        count(*) filter (where answers.answer = 'T') as t_count,
        count(*) filter (where answers.answer = 'TS') as ts_count,
        count(*) filter (where answers.answer = 'TD') as td_count
    from answers
    left join wilayah
        on wilayah.kelurahan_code = answers.kelurahan_code
    group by coalesce(wilayah.kelurahan_code, 'UNKNOWN'), answers.quarter_start, answers.indicator_code

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
        indicators.target_group,
        indicators.indicator_code,
        indicators.indicator_number,
        indicators.indicator_name,
        indicators.has_data,
        indicators.data_sources,
        coalesce(kelurahan_counts.targets, 0) as targets,
        coalesce(kelurahan_counts.register_only_targets, 0) as register_only_targets,
        coalesce(kelurahan_counts.y_count, 0) as y_count,
        coalesce(kelurahan_counts.t_count, 0) as t_count,
        coalesce(kelurahan_counts.ts_count, 0) as ts_count,
        coalesce(kelurahan_counts.td_count, 0) as td_count
    from quarters
    cross join wilayah
    cross join indicators
    left join kelurahan_counts
        on kelurahan_counts.kelurahan_code = wilayah.kelurahan_code
        and kelurahan_counts.quarter_start = quarters.quarter_start
        and kelurahan_counts.indicator_code = indicators.indicator_code

),

all_levels as (

    {{ wilayah_rollup(
        'kelurahan_rows',
        ['quarter', 'quarter_start', 'cutoff_date', 'is_partial_quarter', 'target_group', 'indicator_code',
         'indicator_number', 'indicator_name', 'has_data', 'data_sources'],
        ['targets', 'register_only_targets', 'y_count', 't_count', 'ts_count', 'td_count'],
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
    target_group::text as target_group,
    indicator_code::text as indicator_code,
    indicator_number::integer as indicator_number,
    indicator_name::text as indicator_name,
    has_data::boolean as has_data,
    data_sources::text as data_sources,
    targets::integer as targets,
    register_only_targets::integer as register_only_targets,
    case when has_data then y_count end::integer as y_count,
    case when has_data then t_count end::integer as t_count,
    case when has_data then ts_count end::integer as ts_count,
    case when has_data then td_count end::integer as td_count
from all_levels
