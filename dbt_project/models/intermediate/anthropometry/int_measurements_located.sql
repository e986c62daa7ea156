{#
    One row per child measurement (per child and day, after deduplication) with WHO z-scores,
    Permenkes categories, WHO implausibility flags, e-PPGBM's own z-scores and the wilayah and
    facility keys. A name that matches no master entry maps to an unknown member, never drops the row.
#}

with measurements as (

    select * from {{ ref('int_measurements_deduplicated') }}

),

locations as (

    select * from {{ ref('int_locations_resolved') }}

),

anthropometry as (

    select
        measurements.measurement_key,
        measurements.child_key,
        measurements.measured_on,
        measurements.measurement_month,
        measurements.age_days,
        round(measurements.age_days / 30.4375, 2) as age_months,
        measurements.sex,
        measurements.weight_kg,
        measurements.height_cm,
        measurements.position,
        measurements.height_cm_adjusted,
        measurements.position_flag,
        measurements.haz,
        measurements.waz,
        measurements.whz,
        measurements.baz,
        measurements.haz_category,
        measurements.waz_category,
        measurements.whz_category,
        measurements.baz_category,
        measurements.haz_flag,
        measurements.waz_flag,
        measurements.whz_flag,
        measurements.baz_flag,
        measurements.eppgbm_haz,
        measurements.eppgbm_waz,
        measurements.eppgbm_whz,
        coalesce(locations.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        coalesce(locations.puskesmas_key, 'UNKNOWN') as puskesmas_key,
        coalesce(locations.posyandu_key, 'UNKNOWN-POSYANDU') as posyandu_key,
        measurements.batch_id,
        measurements.source_file,
        measurements.source_row
    from measurements
    left join locations
        on locations.kelurahan_name_key = coalesce(measurements.kelurahan_name, '')
        and locations.puskesmas_name_key = coalesce(measurements.puskesmas_name, '')
        and locations.posyandu_name_key = coalesce(measurements.posyandu_name, '')

)

select * from anthropometry
