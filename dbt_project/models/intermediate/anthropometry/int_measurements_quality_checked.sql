{#
    One row per measurement (int_measurements_located) with what the WHO data-quality statistics
    (WHO Anthro Survey Analyser, WHO–UNICEF 2019) look at, for mart_anthropometry_quality_monthly:
    - the valid z-score of each index: the z-score unless it is flagged implausible (then null);
    - the first decimal digit of weight (kg) and of length/height (cm), for digit preference;
    - position mismatch: measured standing below 731 days or lying from 731 days on;
    - age: completed months (age_days / 30.4375) modulo 12 for age heaping, whether the birth date
      falls on the 1st or 15th of a month (estimated birth dates), and the recorded age e-PPGBM prints
      (Usia Saat Ukur, "1 Tahun - 3 Bulan - 12 Hari") against the calendar age from the two dates.
    The birth date is measured_on − age_days; the recorded age joins back to the staged row.
#}

with measurements as (

    select * from {{ ref('int_measurements_located') }}

),

staged_measurements as (

    select
        source_file,
        source_row,
        age_text
    from {{ ref('stg_eppgbm__measurements') }}

),

recorded_ages as (

    select
        source_file,
        source_row,
        (regexp_match(age_text, '(\d+)\s*tahun', 'i'))[1]::integer as recorded_years,
        (regexp_match(age_text, '(\d+)\s*bulan', 'i'))[1]::integer as recorded_months
    from staged_measurements

),

checked as (

    select
        measurements.measurement_key,
        measurements.measurement_month,
        measurements.puskesmas_key,
        measurements.sex,
        measurements.weight_kg,
        measurements.height_cm,
        measurements.position,
        measurements.age_days,
        measurements.haz,
        measurements.waz,
        measurements.whz,
        measurements.baz,
        case when not measurements.haz_flag then measurements.haz end as haz_valid,
        case when not measurements.waz_flag then measurements.waz end as waz_valid,
        case when not measurements.whz_flag then measurements.whz end as whz_valid,
        case when not measurements.baz_flag then measurements.baz end as baz_valid,
        measurements.haz_flag,
        measurements.waz_flag,
        measurements.whz_flag,
        measurements.baz_flag,
        mod(floor(measurements.weight_kg::numeric * 10)::integer, 10) as weight_decimal_digit,
        mod(floor(measurements.height_cm::numeric * 10)::integer, 10) as height_decimal_digit,
        case
            when measurements.position is null or measurements.age_days is null then null
            else (measurements.position = 'standing' and measurements.age_days < 731)
                or (measurements.position = 'lying' and measurements.age_days >= 731)
        end as is_position_mismatch,
        mod(floor(measurements.age_days / 30.4375)::integer, 12) as age_month_remainder,
        extract(day from measurements.measured_on - measurements.age_days)::integer in (1, 15)
            as is_birth_day_heaped,
        case
            when recorded_ages.recorded_years is not null or recorded_ages.recorded_months is not null
                then coalesce(recorded_ages.recorded_years, 0) * 12 + coalesce(recorded_ages.recorded_months, 0)
        end as recorded_age_months,
        (
            extract(year from age(measurements.measured_on, measurements.measured_on - measurements.age_days)) * 12
            + extract(month from age(measurements.measured_on, measurements.measured_on - measurements.age_days))
        )::integer as dated_age_months
    from measurements
    left join recorded_ages
        on recorded_ages.source_file = measurements.source_file
        and recorded_ages.source_row = measurements.source_row

)

select
    *,
    recorded_age_months <> dated_age_months as is_recorded_age_mismatch
from checked
