{#
    Data quality per puskesmas and month (WHO–UNICEF 2019 style, for warnings with thresholds): every
    puskesmas of the master list plus UNKNOWN, in every month with measurements, so that a puskesmas
    that sent nothing shows measurements = 0. Flag percentages are over the measurements that have the
    z-score; sd_haz is over non-flagged HAZ. duplicate_rows counts the exact duplicate rows removed in
    deduplication; eppgbm_haz_disagree counts measurements whose recomputed HAZ differs from e-PPGBM's
    by more than var('eppgbm_haz_disagreement_threshold').
#}

with measurements as (

    select * from {{ ref('fct_anthropometry') }}

),

deduplication_counts as (

    select
        measurement_key,
        exact_duplicate_rows
    from {{ ref('int_measurements_deduplicated') }}

),

puskesmas as (

    select
        facility_key as puskesmas_key,
        facility_name as puskesmas_name
    from {{ ref('dim_facility') }}
    where facility_type = 'puskesmas'

),

puskesmas_counts as (

    select
        measurements.measurement_month as month_start,
        measurements.puskesmas_key,
        count(*) as measurements,
        count(measurements.haz) as haz_computed,
        count(*) filter (where measurements.haz_flag) as haz_flagged,
        count(measurements.waz) as waz_computed,
        count(*) filter (where measurements.waz_flag) as waz_flagged,
        count(measurements.whz) as whz_computed,
        count(*) filter (where measurements.whz_flag) as whz_flagged,
        stddev_samp(measurements.haz) filter (where not measurements.haz_flag) as sd_haz,
        count(*) filter (where measurements.kelurahan_code = 'UNKNOWN') as unknown_kelurahan,
        sum(deduplication_counts.exact_duplicate_rows) as duplicate_rows,
        count(*) filter (
            where abs(measurements.haz - measurements.eppgbm_haz) > {{ var('eppgbm_haz_disagreement_threshold') }}
        ) as eppgbm_haz_disagree
    from measurements
    inner join deduplication_counts
        on deduplication_counts.measurement_key = measurements.measurement_key
    group by measurements.measurement_month, measurements.puskesmas_key

),

months as (

    select distinct month_start from puskesmas_counts

),

quality as (

    select
        months.month_start,
        puskesmas.puskesmas_key,
        puskesmas.puskesmas_name,
        coalesce(puskesmas_counts.measurements, 0)::integer as measurements,
        round(100.0 * puskesmas_counts.haz_flagged / nullif(puskesmas_counts.haz_computed, 0), 2) as haz_flagged_pct,
        round(100.0 * puskesmas_counts.waz_flagged / nullif(puskesmas_counts.waz_computed, 0), 2) as waz_flagged_pct,
        round(100.0 * puskesmas_counts.whz_flagged / nullif(puskesmas_counts.whz_computed, 0), 2) as whz_flagged_pct,
        round(puskesmas_counts.sd_haz::numeric, 2) as sd_haz,
        coalesce(puskesmas_counts.unknown_kelurahan, 0)::integer as unknown_kelurahan,
        coalesce(puskesmas_counts.duplicate_rows, 0)::integer as duplicate_rows,
        coalesce(puskesmas_counts.eppgbm_haz_disagree, 0)::integer as eppgbm_haz_disagree
    from months
    cross join puskesmas
    left join puskesmas_counts
        on puskesmas_counts.month_start = months.month_start
        and puskesmas_counts.puskesmas_key = puskesmas.puskesmas_key

)

select * from quality
