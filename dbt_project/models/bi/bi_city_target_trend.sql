{#
    The city's stunting prevalence against its targets up to 2026: one row per month from the e-PPGBM
    register (the kota rows of bi_stunting_prevalence_monthly, so suppressed exactly as there) and one per
    published survey year (mart_target_progress), with the city target of the year and the national target.
    source_type tells register and survey rows apart; they are never blended.
#}

with register_rows as (

    select
        'register'::text as source_type,
        'EPPGBM'::text as source_code,
        month_start as period_start,
        to_char(month_start, 'YYYY-MM') as period_label,
        extract(year from month_start)::integer as year,
        stunting_pct as prevalence_pct,
        haz_denominator as children_measured
    from {{ ref('bi_stunting_prevalence_monthly') }}
    where wilayah_level = 'kota'

),

progress as (

    select * from {{ ref('mart_target_progress') }}
    where wilayah_level = 'kota'

),

survey_rows as (

    select
        source_type,
        source_code,
        period_start,
        period_label,
        year,
        round(prevalence_pct, 1) as prevalence_pct,
        null::integer as children_measured
    from progress
    where source_type <> 'register'

),

targets as (

    select distinct year, city_target_pct, national_target_year, national_target_pct
    from progress

),

all_rows as (

    select * from register_rows
    union all
    select * from survey_rows

)

select
    all_rows.source_type,
    all_rows.source_code,
    all_rows.period_start,
    all_rows.period_label,
    all_rows.year,
    all_rows.prevalence_pct::numeric(4, 1) as prevalence_pct,
    all_rows.children_measured::integer as children_measured,
    targets.city_target_pct::numeric(5, 2) as city_target_pct,
    (all_rows.prevalence_pct - targets.city_target_pct)::numeric(6, 2) as gap_to_city_target_points,
    targets.national_target_year::integer as national_target_year,
    targets.national_target_pct::numeric(5, 2) as national_target_pct
from all_rows
left join targets
    on targets.year = all_rows.year
