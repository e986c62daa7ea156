{#
    Analisis situasi: one row per wilayah (kelurahan incl. UNKNOWN, kecamatan, kota) and year, for the
    year of data_date (to date) and the year before (int_situation_years). Built from the published marts so every
    figure matches the page it comes from:
      - prevalence: register (mart_stunting_prevalence_monthly) in the year's latest evaluated month;
        gap = latest − the city target of that year; the year's register prevalence counting each child
        once (int_situation_prevalence_yearly: its latest plausible HAZ of the year), never a mean of
        monthly percentages; and, on the city row, the latest survey figure (SSGI/SKI,
        ref_prevalence_surveys) of that year or before, beside the register, never blended with it;
      - children under five known and measured in that latest month (int_situation_child_counts, from
        int_child_monthly, the rows of fct_child_monthly);
      - intervention coverage: per scorecard indicator, Y ÷ (targets − TS) summed over the year's
        quarters (mart_convergence_scorecard_indicators), and the same over all specific or all
        sensitive indicators;
      - risk-factor shares among the households (int_households_resolved, current state) of the children
        under five of that latest month, each over the households whose attribute is known, and the share
        of those children without their own JKN (int_persons_insured), over the children whose insurance
        is known (the counts: int_situation_child_counts);
      - convergence levels of the year's latest quarter (mart_convergence_scorecard).
#}

{% set indicator_codes = scorecard_indicator_codes() %}

with years as (

    select * from {{ ref('int_situation_years') }}

),

dim_wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

wilayah as (

    select distinct 'kelurahan' as wilayah_level, kelurahan_code as wilayah_code, kelurahan_name as wilayah_name,
        kecamatan_code
    from dim_wilayah
    union
    select distinct 'kecamatan', kecamatan_code, kecamatan_name, kecamatan_code
    from dim_wilayah
    union
    select distinct {{ city_level() }}, city_code, city_name, null
    from dim_wilayah

),

prevalence_months as (

    select
        wilayah_level,
        wilayah_code,
        month_start,
        stunting_pct
    from {{ ref('mart_stunting_prevalence_monthly') }}

),

prevalence as (

    select
        prevalence_months.wilayah_level,
        prevalence_months.wilayah_code,
        years.year,
        max(prevalence_months.stunting_pct) filter (
            where prevalence_months.month_start = years.latest_month
        ) as prevalence_latest_pct
    from prevalence_months
    inner join years
        on extract(year from prevalence_months.month_start)::integer = years.year
        and prevalence_months.month_start <= years.latest_month
    group by prevalence_months.wilayah_level, prevalence_months.wilayah_code, years.year

),

yearly_prevalence as (

    select * from {{ ref('int_situation_prevalence_yearly') }}

),

surveys as (

    -- the city's latest survey (SSGI/SKI) of the year or before; surveys are representative for the city only
    select distinct on (years.year)
        years.year,
        surveys.wilayah_code,
        surveys.source_name,
        surveys.survey_year,
        surveys.prevalence_pct
    from years
    inner join {{ ref('ref_prevalence_surveys') }} as surveys
        on surveys.survey_year <= years.year
        and surveys.source_type = 'survey'
    order by years.year, surveys.survey_year desc, surveys.source_code

),

targets as (

    select target_year, target_pct
    from {{ ref('ref_prevalence_targets') }}
    where target_scope = {{ city_level() }}

),

child_counts as (

    select * from {{ ref('int_situation_child_counts') }}

),

scorecard_counts as (

    select
        scorecard.wilayah_level,
        scorecard.wilayah_code,
        extract(year from scorecard.quarter_start)::integer as year,
        scorecard.indicator_code,
        indicators.intervention_type,
        sum(scorecard.y_count) as y_count,
        sum(scorecard.targets - scorecard.ts_count) as due_count
    from {{ ref('mart_convergence_scorecard_indicators') }} as scorecard
    inner join {{ ref('int_convergence_indicators') }} as indicators
        on indicators.indicator_code = scorecard.indicator_code
    group by scorecard.wilayah_level, scorecard.wilayah_code, extract(year from scorecard.quarter_start),
        scorecard.indicator_code, indicators.intervention_type

),

coverage as (

    select
        wilayah_level,
        wilayah_code,
        year,
        {% for code in indicator_codes %}
        round(100.0 * sum(y_count) filter (where indicator_code = '{{ code }}')
            / nullif(sum(due_count) filter (where indicator_code = '{{ code }}'), 0), 2)
            as coverage_{{ code | lower }}_pct,
        {% endfor %}
        round(100.0 * sum(y_count) filter (where intervention_type = 'spesifik')
            / nullif(sum(due_count) filter (where intervention_type = 'spesifik'), 0), 2)
            as specific_coverage_pct,
        round(100.0 * sum(y_count) filter (where intervention_type = 'sensitif')
            / nullif(sum(due_count) filter (where intervention_type = 'sensitif'), 0), 2)
            as sensitive_coverage_pct
    from scorecard_counts
    group by wilayah_level, wilayah_code, year

),

latest_levels as (

    select distinct on (wilayah_level, wilayah_code, extract(year from quarter_start))
        wilayah_level,
        wilayah_code,
        extract(year from quarter_start)::integer as year,
        quarter,
        is_partial_quarter,
        women_level,
        children_level,
        combined_level
    from {{ ref('mart_convergence_scorecard') }}
    order by wilayah_level, wilayah_code, extract(year from quarter_start), quarter_start desc

)

select
    wilayah.wilayah_level::text as wilayah_level,
    wilayah.wilayah_code::text as wilayah_code,
    wilayah.wilayah_name::text as wilayah_name,
    wilayah.kecamatan_code::text as kecamatan_code,
    years.year::integer as year,
    years.is_year_to_date::boolean as is_year_to_date,
    years.latest_month::date as latest_month,
    prevalence.prevalence_latest_pct::numeric(5,2) as prevalence_latest_pct,
    round(100.0 * yearly_prevalence.children_stunted / nullif(yearly_prevalence.children_assessed, 0), 2)
        ::numeric(5,2) as prevalence_year_pct,
    coalesce(yearly_prevalence.children_assessed, 0)::integer as children_assessed_year,
    coalesce(yearly_prevalence.children_stunted, 0)::integer as children_stunted_year,
    targets.target_pct::numeric(5,2) as city_target_pct,
    (prevalence.prevalence_latest_pct - targets.target_pct)::numeric(6,2) as gap_to_target_points,
    surveys.source_name::text as survey_name,
    surveys.survey_year::integer as survey_year,
    surveys.prevalence_pct::numeric(5,2) as survey_prevalence_pct,
    (surveys.prevalence_pct - targets.target_pct)::numeric(6,2) as survey_gap_to_target_points,
    coalesce(child_counts.children_under_five, 0)::integer as children_under_five,
    coalesce(child_counts.children_measured_last_month, 0)::integer as children_measured_last_month,
    round(100.0 * child_counts.children_measured_last_month / nullif(child_counts.children_under_five, 0), 2)
        ::numeric(5,2) as measurement_coverage_pct,
    coalesce(child_counts.households_of_children, 0)::integer as households_of_children,
    {% for factor, column in [('has_unimproved_water', 'unimproved_water'), ('has_no_proper_latrine', 'no_proper_latrine'),
                              ('is_uninhabitable', 'rtlh'), ('is_desil_1_4', 'desil_1_4')] %}
    round(100.0 * child_counts.{{ factor }}_households / nullif(child_counts.{{ factor }}_known, 0), 2)
        ::numeric(5,2) as households_{{ column }}_pct,
    coalesce(child_counts.{{ factor }}_known, 0)::integer as households_{{ column }}_known,
    {% endfor %}
    round(100.0 * child_counts.has_no_jkn_children / nullif(child_counts.has_no_jkn_known, 0), 2)
        ::numeric(5,2) as children_no_jkn_pct,
    coalesce(child_counts.has_no_jkn_known, 0)::integer as children_no_jkn_known,
    {% for code in indicator_codes %}
    coverage.coverage_{{ code | lower }}_pct::numeric(5,2) as coverage_{{ code | lower }}_pct,
    {% endfor %}
    coverage.specific_coverage_pct::numeric(5,2) as specific_coverage_pct,
    coverage.sensitive_coverage_pct::numeric(5,2) as sensitive_coverage_pct,
    latest_levels.quarter::text as latest_quarter,
    latest_levels.is_partial_quarter::boolean as latest_quarter_is_partial,
    latest_levels.women_level::numeric(5,2) as women_level,
    latest_levels.children_level::numeric(5,2) as children_level,
    latest_levels.combined_level::numeric(5,2) as combined_level
from wilayah
cross join years
left join prevalence
    on prevalence.wilayah_level = wilayah.wilayah_level
    and prevalence.wilayah_code = wilayah.wilayah_code
    and prevalence.year = years.year
left join yearly_prevalence
    on yearly_prevalence.wilayah_level = wilayah.wilayah_level
    and yearly_prevalence.wilayah_code = wilayah.wilayah_code
    and yearly_prevalence.year = years.year
left join surveys
    on surveys.wilayah_code = wilayah.wilayah_code
    and wilayah.wilayah_level = {{ city_level() }}
    and surveys.year = years.year
left join targets
    on targets.target_year = years.year
left join child_counts
    on child_counts.wilayah_level = wilayah.wilayah_level
    and child_counts.wilayah_code = wilayah.wilayah_code
    and child_counts.year = years.year
left join coverage
    on coverage.wilayah_level = wilayah.wilayah_level
    and coverage.wilayah_code = wilayah.wilayah_code
    and coverage.year = years.year
left join latest_levels
    on latest_levels.wilayah_level = wilayah.wilayah_level
    and latest_levels.wilayah_code = wilayah.wilayah_code
    and latest_levels.year = years.year
