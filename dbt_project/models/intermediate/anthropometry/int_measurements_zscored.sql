{#
    WHO z-scores (HAZ, WAZ, WHZ, BAZ), Permenkes categories and WHO implausibility flags for every raw
    e-PPGBM row, computed set-based as in docs/anthropometry.md.

    Incremental, one row per raw row (source_file, source_row): a run picks up the rows of batches newer
    than any already here. A corrected file arrives as a new batch holding all rows of that source_file,
    so delete+insert on source_file replaces the file's earlier rows. Deduplication across rows and files
    happens downstream (int_measurements_deduplicated), which keeps this model a function of each row.

    Performance: two equi-joins (sex, age) and (sex, length/height, tenths of a cm) bring every reference
    value, including the age's length/height convention (int_who_lms_by_age). The CTEs ending in
    compute_once() hand their columns up as computed values (see macros/compute_once.sql); without it
    PostgreSQL would recompute e.g. the adjusted length or a z-score for every later reference to it.
#}
{#-
    unlogged: the table is derived and recomputable, so it skips the write-ahead log. After a crash
    PostgreSQL empties it; the next run then finds no scored batch and rescores every raw row.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='source_file',
    on_schema_change='fail',
    unlogged=true
) }}

{%- set oldest_age_days = 1826 -%}

with measurements as (

    select
        batch_id,
        source_file,
        source_row,
        sex,
        measured_on - birth_date as age_days,
        weight_kg,
        height_cm,
        position
    from {{ ref('stg_eppgbm__measurements') }}
    {% if is_incremental() %}
    where batch_id > (select coalesce(max(batch_id), -1) from {{ this }})
    {% endif %}

),

{#- Age reference; no row (so no z-scores at all) outside 0–1826 days. -#}
with_age_reference as (

    select
        measurements.batch_id,
        measurements.source_file,
        measurements.source_row,
        measurements.sex,
        measurements.age_days,
        measurements.weight_kg,
        by_age.length_l,
        by_age.length_m,
        by_age.length_s,
        by_age.weight_l,
        by_age.weight_m,
        by_age.weight_s,
        by_age.bmi_l,
        by_age.bmi_m,
        by_age.bmi_s,
        by_age.stature_measure,
        case when by_age.age_days is not null then
            measurements.height_cm + case measurements.position
                when 'standing' then by_age.standing_adjustment_cm
                when 'lying' then by_age.lying_adjustment_cm
                else 0
            end
        end as height_cm_adjusted,
        coalesce(measurements.position = 'standing' and by_age.is_standing_implausible, false) as position_flag
    from measurements
    left join {{ ref('int_who_lms_by_age') }} as by_age
        on by_age.sex = measurements.sex
        and by_age.age_days = measurements.age_days
        and measurements.age_days between 0 and {{ oldest_age_days }}
    {{ compute_once(18) }}

),

{#- Weight-for-length/height row at floor(length·10)/10, L/M/S interpolated towards the next 0.1 cm. -#}
with_stature_reference as (

    select
        with_age_reference.*,
        with_age_reference.weight_kg
            / ((with_age_reference.height_cm_adjusted / 100) * (with_age_reference.height_cm_adjusted / 100)) as bmi,
        by_stature.l + (with_age_reference.height_cm_adjusted * 10 - by_stature.stature_tenths) * by_stature.l_step
            as weight_for_stature_l,
        by_stature.m + (with_age_reference.height_cm_adjusted * 10 - by_stature.stature_tenths) * by_stature.m_step
            as weight_for_stature_m,
        by_stature.s + (with_age_reference.height_cm_adjusted * 10 - by_stature.stature_tenths) * by_stature.s_step
            as weight_for_stature_s
    from with_age_reference
    left join {{ ref('int_who_lms_by_stature') }} as by_stature
        on by_stature.sex = with_age_reference.sex
        and by_stature.stature_measure = with_age_reference.stature_measure
        and by_stature.stature_tenths = floor(with_age_reference.height_cm_adjusted * 10 + 1e-9)::integer
        and (
            not by_stature.is_last_row
            or with_age_reference.height_cm_adjusted * 10 - by_stature.stature_tenths < 1e-6
        )

),

unrestricted_zscores as (

    select
        batch_id,
        source_file,
        source_row,
        age_days,
        height_cm_adjusted,
        position_flag,
        weight_kg,
        bmi,
        weight_l,
        weight_m,
        weight_s,
        weight_for_stature_l,
        weight_for_stature_m,
        weight_for_stature_s,
        bmi_l,
        bmi_m,
        bmi_s,
        {{ lms_zscore('height_cm_adjusted', 'length_l', 'length_m', 'length_s') }} as haz,
        {{ lms_zscore('weight_kg', 'weight_l', 'weight_m', 'weight_s') }} as waz_unrestricted,
        {{ lms_zscore('weight_kg', 'weight_for_stature_l', 'weight_for_stature_m', 'weight_for_stature_s') }} as whz_unrestricted,
        {{ lms_zscore('bmi', 'bmi_l', 'bmi_m', 'bmi_s') }} as baz_unrestricted
    from with_stature_reference
    {{ compute_once(21) }}

),

zscores as (

    select
        batch_id,
        source_file,
        source_row,
        age_days,
        height_cm_adjusted,
        position_flag,
        bmi,
        haz,
        {{ restricted_zscore('waz_unrestricted', 'weight_kg', 'weight_l', 'weight_m', 'weight_s') }} as waz,
        {{ restricted_zscore('whz_unrestricted', 'weight_kg', 'weight_for_stature_l', 'weight_for_stature_m', 'weight_for_stature_s') }} as whz,
        {{ restricted_zscore('baz_unrestricted', 'bmi', 'bmi_l', 'bmi_m', 'bmi_s') }} as baz
    from unrestricted_zscores
    {{ compute_once(11) }}

),

classified as (

    select
        batch_id,
        source_file,
        source_row,
        age_days,
        {{ rounded_in_unit_tests('height_cm_adjusted') }} as height_cm_adjusted,
        position_flag,
        {{ rounded_in_unit_tests('bmi') }} as bmi,
        {{ rounded_in_unit_tests('haz') }} as haz,
        {{ rounded_in_unit_tests('waz') }} as waz,
        {{ rounded_in_unit_tests('whz') }} as whz,
        {{ rounded_in_unit_tests('baz') }} as baz,
        {{ height_for_age_category('haz') }} as haz_category,
        {{ weight_for_age_category('waz') }} as waz_category,
        {{ nutritional_status_category('whz') }} as whz_category,
        {{ nutritional_status_category('baz') }} as baz_category,
        {{ implausible_zscore_flag('haz', -6, 6) }} as haz_flag,
        {{ implausible_zscore_flag('waz', -6, 5) }} as waz_flag,
        {{ implausible_zscore_flag('whz', -5, 5) }} as whz_flag,
        {{ implausible_zscore_flag('baz', -5, 5) }} as baz_flag
    from zscores

)

select * from classified
