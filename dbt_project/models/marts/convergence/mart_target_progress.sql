{#
    Stunting prevalence against the targets, per month for the city and each kecamatan (register,
    e-PPGBM, from mart_stunting_prevalence_monthly) and per year for the city (published surveys and
    reported figures, each row labelled with its source). Register and survey rows are never averaged
    or blended: source_type tells them apart. The city target of a year is the target set for that
    year (none after 2026); the national target is the first national target year at or after it.
    gap_* = prevalence − target in percentage points (positive = above target).
#}

with prevalence as (

    select * from {{ ref('mart_stunting_prevalence_monthly') }}
    where wilayah_level in ({{ city_level() }}, 'kecamatan')

),

surveys as (

    select * from {{ ref('ref_prevalence_surveys') }}

),

targets as (

    select * from {{ ref('ref_prevalence_targets') }}

),

city as (

    select wilayah_code, wilayah_name
    from {{ ref('mart_stunting_prevalence_monthly') }}
    where wilayah_level = {{ city_level() }}
    limit 1

),

register_rows as (

    select
        prevalence.wilayah_level,
        prevalence.wilayah_code,
        prevalence.wilayah_name,
        'register' as source_type,
        'EPPGBM' as source_code,
        'e-PPGBM (register, dihitung ulang dengan standar WHO)' as source_name,
        extract(year from prevalence.month_start)::integer as year,
        prevalence.month_start as period_start,
        to_char(prevalence.month_start, 'YYYY-MM') as period_label,
        prevalence.stunting_pct as prevalence_pct,
        prevalence.haz_denominator as children_measured
    from prevalence

),

survey_rows as (

    select
        {{ city_level() }} as wilayah_level,
        coalesce(city.wilayah_code, surveys.wilayah_code) as wilayah_code,
        coalesce(city.wilayah_name, 'Kota Pekalongan') as wilayah_name,
        surveys.source_type,
        surveys.source_code,
        surveys.source_name,
        surveys.survey_year as year,
        make_date(surveys.survey_year, 1, 1) as period_start,
        surveys.survey_year::text as period_label,
        surveys.prevalence_pct,
        null::integer as children_measured
    from surveys
    left join city on true

),

all_rows as (

    select * from register_rows
    union all
    select * from survey_rows

),

with_targets as (

    select
        all_rows.*,
        city_target.target_pct as city_target_pct,
        national_target.target_year as national_target_year,
        national_target.target_pct as national_target_pct
    from all_rows
    left join targets as city_target
        on city_target.target_scope = {{ city_level() }}
        and city_target.target_year = all_rows.year
    left join lateral (
        select target_year, target_pct
        from targets
        where target_scope = 'national'
            and target_year >= all_rows.year
        order by target_year
        limit 1
    ) as national_target on true

)

select
    wilayah_level::text as wilayah_level,
    wilayah_code::text as wilayah_code,
    wilayah_name::text as wilayah_name,
    source_type::text as source_type,
    source_code::text as source_code,
    source_name::text as source_name,
    year::integer as year,
    period_start::date as period_start,
    period_label::text as period_label,
    prevalence_pct::numeric(5,2) as prevalence_pct,
    children_measured::integer as children_measured,
    city_target_pct::numeric(5,2) as city_target_pct,
    (prevalence_pct - city_target_pct)::numeric(6,2) as gap_to_city_target_points,
    (prevalence_pct - 0)::numeric(6,2) as gap_to_zero_stunting_2026_points,
    national_target_year::integer as national_target_year,
    national_target_pct::numeric(5,2) as national_target_pct
from with_targets
