{#
    One row per child and measurement day, with the child key resolved and the z-scores attached.

    - Exact duplicates (same child, day, weight and height, e.g. a row exported twice or in two files)
      collapse into the latest-loaded row: highest batch_id, then highest source_row.
    - Different measurements of a child on the same day: the latest-loaded one wins.
    - Measurements on different days of one month all stay.
    How many rows each kept row stands for is counted for mart_data_quality_monthly.
    Z-scores join on (source_file, source_row): int_measurements_zscored replaces a file's rows whenever
    the file is reloaded, and tests/assert_every_measurement_is_zscored.sql fails the build (and so stops
    the marts) if any raw row lacks its z-scores for its current batch.
#}

with staged_measurements as (

    select * from {{ ref('stg_eppgbm__measurements') }}

),

zscored_measurements as (

    select * from {{ ref('int_measurements_zscored') }}

),

children as (

    select * from {{ ref('int_children_resolved') }}

),

measurements_with_child_key as (

    select
        coalesce(staged_measurements.child_nik_key, children.child_key_without_nik) as child_key,
        case
            when staged_measurements.child_nik_key is not null then 'nik'
            else children.identity_method_without_nik
        end as identity_method,
        staged_measurements.sex,
        staged_measurements.birth_date,
        staged_measurements.measured_on,
        staged_measurements.measurement_month,
        zscored_measurements.age_days,
        staged_measurements.weight_kg,
        staged_measurements.height_cm,
        staged_measurements.position,
        zscored_measurements.height_cm_adjusted,
        zscored_measurements.position_flag,
        zscored_measurements.haz,
        zscored_measurements.waz,
        zscored_measurements.whz,
        zscored_measurements.baz,
        zscored_measurements.haz_category,
        zscored_measurements.waz_category,
        zscored_measurements.whz_category,
        zscored_measurements.baz_category,
        zscored_measurements.haz_flag,
        zscored_measurements.waz_flag,
        zscored_measurements.whz_flag,
        zscored_measurements.baz_flag,
        staged_measurements.eppgbm_haz,
        staged_measurements.eppgbm_waz,
        staged_measurements.eppgbm_whz,
        staged_measurements.kelurahan_name,
        staged_measurements.puskesmas_name,
        staged_measurements.posyandu_name,
        staged_measurements.batch_id,
        staged_measurements.source_file,
        staged_measurements.source_row
    from staged_measurements
    inner join zscored_measurements
        on zscored_measurements.source_file = staged_measurements.source_file
        and zscored_measurements.source_row = staged_measurements.source_row
    inner join children
        on children.child_person_key = staged_measurements.child_person_key

),

ranked as (

    select
        *,
        row_number() over (
            partition by child_key, measured_on, weight_kg, height_cm
            order by batch_id desc, source_row desc, source_file desc
        ) as rank_among_exact_duplicates,
        row_number() over (
            partition by child_key, measured_on
            order by batch_id desc, source_row desc, source_file desc
        ) as rank_within_day
    from measurements_with_child_key

),

counted as (

    select
        *,
        count(*) filter (where rank_among_exact_duplicates > 1)
            over (partition by child_key, measured_on) as exact_duplicate_rows,
        count(*) filter (where rank_among_exact_duplicates = 1)
            over (partition by child_key, measured_on) - 1 as superseded_rows
    from ranked

),

deduplicated as (

    select
        md5(child_key || to_char(measured_on, 'YYYY-MM-DD')) as measurement_key,
        child_key,
        identity_method,
        sex,
        birth_date,
        measured_on,
        measurement_month,
        age_days,
        weight_kg,
        height_cm,
        position,
        height_cm_adjusted,
        position_flag,
        haz,
        waz,
        whz,
        baz,
        haz_category,
        waz_category,
        whz_category,
        baz_category,
        haz_flag,
        waz_flag,
        whz_flag,
        baz_flag,
        eppgbm_haz,
        eppgbm_waz,
        eppgbm_whz,
        kelurahan_name,
        puskesmas_name,
        posyandu_name,
        exact_duplicate_rows::integer as exact_duplicate_rows,
        superseded_rows::integer as superseded_rows,
        batch_id,
        source_file,
        source_row
    from counted
    where rank_within_day = 1

)

select * from deduplicated
