{#
    Coverage of the Perpres 72/2021 specific-intervention indicators (seed ref_perpres_indicators) per
    wilayah and quarter: targets, those covered, the coverage % and whether it reaches the national
    2024 target (docs/scorecard.md, "Perpres 72/2021 coverage"). Every kelurahan of dim_wilayah (UNKNOWN
    included) appears in every evaluated quarter; a kelurahan code not in dim_wilayah counts under
    UNKNOWN; kecamatan and city rows are sums of the kelurahan rows. An indicator one of whose sources
    is not configured (has_data false) has null counts: "no data", not zero coverage.
#}

with targets as (

    select * from {{ ref('int_perpres_targets_quarterly') }}

),

quarters as (

    select quarter, quarter_start, cutoff_date, is_partial_quarter
    from {{ ref('int_convergence_periods') }}
    where is_quarter_cutoff

),

configuration as (

    select * from {{ ref('stg_ops__source_configuration') }}

),

indicator_sources as (

    select
        indicators.indicator_code,
        bool_and(coalesce(configuration.is_configured, false)) as has_data
    from {{ ref('ref_perpres_indicators') }} as indicators
    cross join lateral unnest(string_to_array(indicators.data_sources, ' ')) as sources (source)
    left join configuration on configuration.source = sources.source
    group by indicators.indicator_code

),

indicators as (

    select indicators.*, indicator_sources.has_data
    from {{ ref('ref_perpres_indicators') }} as indicators
    inner join indicator_sources on indicator_sources.indicator_code = indicators.indicator_code

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

kelurahan_counts as (

    select
        coalesce(wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        targets.quarter_start,
        targets.indicator_code,
        count(*) as targets,
        count(*) filter (where targets.is_covered) as covered
    from targets
    left join wilayah
        on wilayah.kelurahan_code = targets.kelurahan_code
    group by coalesce(wilayah.kelurahan_code, 'UNKNOWN'), targets.quarter_start, targets.indicator_code

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
        indicators.indicator_code,
        indicators.indicator_number,
        indicators.indicator_name,
        indicators.national_target_pct,
        indicators.has_data,
        coalesce(kelurahan_counts.targets, 0) as targets,
        coalesce(kelurahan_counts.covered, 0) as covered
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
        ['quarter', 'quarter_start', 'cutoff_date', 'is_partial_quarter', 'indicator_code', 'indicator_number',
         'indicator_name', 'national_target_pct', 'has_data'],
        ['targets', 'covered']
    ) }}

),

coverage as (

    select
        *,
        case when has_data then round(100.0 * covered / nullif(targets, 0), 2) end as coverage_pct
    from all_levels

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
    indicator_code::text as indicator_code,
    indicator_number::integer as indicator_number,
    indicator_name::text as indicator_name,
    national_target_pct::numeric(5, 2) as national_target_pct,
    has_data::boolean as has_data,
    targets::integer as targets,
    case when has_data then covered end::integer as covered,
    coverage_pct::numeric(5, 2) as coverage_pct,
    (coverage_pct >= national_target_pct)::boolean as meets_national_target
from coverage
