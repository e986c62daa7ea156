{#
    The WHO data-quality statistics per puskesmas and month, as the WHO Anthro Survey Analyser reports
    them for a survey (docs/data-quality.md): every puskesmas of the master list plus UNKNOWN in every
    month with measurements (measurements = 0: nothing was sent).
    - % missing per field and % flagged per index (over the measurements that have the z-score);
    - per index, over valid (non-flagged) z-scores: n, mean, sample SD (n − 1), skewness
      g1 = m3 / m2^1.5 and excess kurtosis g2 = m4 / m2² − 3 with the central moments m_k = Σ(z − mean)^k / n;
      the SD against its plausible range, skewness and kurtosis rated by |value| < 0.2 / 0.4 / 0.6;
    - digit preference of the first decimal of weight and of length/height: DPS = 100·sqrt(χ² / (n·df)),
      χ² against equal shares of the 10 digits (df 9), rated < 8 / 12 / 20, and the share of .0 and .5;
    - position mismatch (standing below 24 months, lying from 24 months) over rows with position and age;
    - age heaping: the DPS of completed months modulo 12 (df 11), birth dates on the 1st or 15th, and the
      recorded age (Usia Saat Ukur) disagreeing with the dates in completed months.
    A statistic with no data is null; skewness and kurtosis need m2 > 0.
#}

{%- set indices = ['haz', 'waz', 'whz', 'baz'] %}
{%- set sd_ranges = who_zscore_sd_ranges() %}
{%- set missing_fields = {'weight': 'weight_kg', 'height': 'height_cm', 'position': 'position',
                          'birth_date': 'age_days', 'sex': 'sex'} %}

with checked as (

    select * from {{ ref('int_measurements_quality_checked') }}

),

puskesmas as (

    select
        facility_key as puskesmas_key,
        facility_name as puskesmas_name
    from {{ ref('dim_facility') }}
    where facility_type = 'puskesmas'

),

deviations as (

    select
        checked.*
        {%- for index in indices %},
        {{ index }}_valid - avg({{ index }}_valid) over (partition by measurement_month, puskesmas_key)
            as {{ index }}_deviation
        {%- endfor %}
    from checked

),

batch_counts as (

    select
        measurement_month as month_start,
        puskesmas_key,
        count(*) as measurements,
        {%- for name, column in missing_fields.items() %}
        count(*) filter (where {{ column }} is null) as {{ name }}_missing,
        {%- endfor %}
        {%- for index in indices %}
        count({{ index }}) as {{ index }}_computed,
        count(*) filter (where {{ index }}_flag) as {{ index }}_flagged,
        count({{ index }}_valid) as {{ index }}_valid,
        avg({{ index }}_valid) as {{ index }}_mean,
        stddev_samp({{ index }}_valid) as {{ index }}_sd,
        avg(power({{ index }}_deviation, 2)) as {{ index }}_m2,
        avg(power({{ index }}_deviation, 3)) as {{ index }}_m3,
        avg(power({{ index }}_deviation, 4)) as {{ index }}_m4,
        {%- endfor %}
        count(weight_decimal_digit) filter (where weight_decimal_digit in (0, 5)) as weight_digit_0_5,
        count(height_decimal_digit) filter (where height_decimal_digit in (0, 5)) as height_digit_0_5,
        count(is_position_mismatch) as position_known,
        count(*) filter (where is_position_mismatch) as position_mismatch,
        count(is_birth_day_heaped) as birth_day_known,
        count(*) filter (where is_birth_day_heaped) as birth_day_heaped,
        count(is_recorded_age_mismatch) as recorded_age_known,
        count(*) filter (where is_recorded_age_mismatch) as recorded_age_mismatch
    from deviations
    group by measurement_month, puskesmas_key

),

categorical_values as (

    select measurement_month, puskesmas_key, 'weight_digit' as variable, 10 as categories,
        weight_decimal_digit as category
    from checked
    where weight_decimal_digit is not null
    union all
    select measurement_month, puskesmas_key, 'height_digit', 10, height_decimal_digit
    from checked
    where height_decimal_digit is not null
    union all
    select measurement_month, puskesmas_key, 'age_month', 12, age_month_remainder
    from checked
    where age_month_remainder is not null

),

category_counts as (

    select measurement_month, puskesmas_key, variable, categories, category, count(*) as observed
    from categorical_values
    group by measurement_month, puskesmas_key, variable, categories, category

),

digit_preference as (

    -- χ² against equal expected counts n/k: Σ (O − n/k)² / (n/k) = k·ΣO²/n − n (categories never seen add 0 to ΣO²)
    select
        measurement_month as month_start,
        puskesmas_key,
        variable,
        100 * sqrt(greatest(
            (categories * sum(observed::numeric ^ 2) / sum(observed) - sum(observed))
            / (sum(observed) * (categories - 1)),
            0
        )) as dps
    from category_counts
    group by measurement_month, puskesmas_key, variable, categories

),

digit_scores as (

    select
        month_start,
        puskesmas_key,
        max(dps) filter (where variable = 'weight_digit') as weight_digit_dps,
        max(dps) filter (where variable = 'height_digit') as height_digit_dps,
        max(dps) filter (where variable = 'age_month') as age_heaping_dps
    from digit_preference
    group by month_start, puskesmas_key

),

months as (

    select distinct month_start from batch_counts

),

statistics as (

    select
        months.month_start,
        puskesmas.puskesmas_key,
        puskesmas.puskesmas_name,
        coalesce(batch_counts.measurements, 0) as measurements,
        {%- for name in missing_fields %}
        100.0 * batch_counts.{{ name }}_missing / nullif(batch_counts.measurements, 0) as {{ name }}_missing_pct,
        {%- endfor %}
        {%- for index in indices %}
        coalesce(batch_counts.{{ index }}_valid, 0) as {{ index }}_valid,
        100.0 * batch_counts.{{ index }}_flagged / nullif(batch_counts.{{ index }}_computed, 0) as {{ index }}_flagged_pct,
        batch_counts.{{ index }}_mean,
        batch_counts.{{ index }}_sd,
        batch_counts.{{ index }}_m3 / nullif(batch_counts.{{ index }}_m2, 0) ^ 1.5 as {{ index }}_skewness,
        batch_counts.{{ index }}_m4 / nullif(batch_counts.{{ index }}_m2, 0) ^ 2 - 3 as {{ index }}_kurtosis,
        {%- endfor %}
        digit_scores.weight_digit_dps,
        100.0 * batch_counts.weight_digit_0_5
            / nullif(batch_counts.measurements - batch_counts.weight_missing, 0) as weight_digit_0_5_pct,
        digit_scores.height_digit_dps,
        100.0 * batch_counts.height_digit_0_5
            / nullif(batch_counts.measurements - batch_counts.height_missing, 0) as height_digit_0_5_pct,
        100.0 * batch_counts.position_mismatch / nullif(batch_counts.position_known, 0) as position_mismatch_pct,
        digit_scores.age_heaping_dps,
        100.0 * batch_counts.birth_day_heaped / nullif(batch_counts.birth_day_known, 0) as birth_day_heaped_pct,
        100.0 * batch_counts.recorded_age_mismatch / nullif(batch_counts.recorded_age_known, 0)
            as recorded_age_mismatch_pct
    from months
    cross join puskesmas
    left join batch_counts
        on batch_counts.month_start = months.month_start
        and batch_counts.puskesmas_key = puskesmas.puskesmas_key
    left join digit_scores
        on digit_scores.month_start = months.month_start
        and digit_scores.puskesmas_key = puskesmas.puskesmas_key

),

rounded as (

    select
        month_start,
        puskesmas_key,
        puskesmas_name,
        measurements::integer as measurements,
        {%- for name in missing_fields %}
        round({{ name }}_missing_pct::numeric, 2) as {{ name }}_missing_pct,
        {%- endfor %}
        {%- for index in indices %}
        {{ index }}_valid::integer as {{ index }}_valid,
        round({{ index }}_flagged_pct::numeric, 2) as {{ index }}_flagged_pct,
        round({{ index }}_mean::numeric, 2) as {{ index }}_mean,
        round({{ index }}_sd::numeric, 2) as {{ index }}_sd,
        round({{ index }}_skewness::numeric, 2) as {{ index }}_skewness,
        round({{ index }}_kurtosis::numeric, 2) as {{ index }}_kurtosis,
        {%- endfor %}
        round(weight_digit_dps::numeric, 2) as weight_digit_dps,
        round(weight_digit_0_5_pct::numeric, 2) as weight_digit_0_5_pct,
        round(height_digit_dps::numeric, 2) as height_digit_dps,
        round(height_digit_0_5_pct::numeric, 2) as height_digit_0_5_pct,
        round(position_mismatch_pct::numeric, 2) as position_mismatch_pct,
        round(age_heaping_dps::numeric, 2) as age_heaping_dps,
        round(birth_day_heaped_pct::numeric, 2) as birth_day_heaped_pct,
        round(recorded_age_mismatch_pct::numeric, 2) as recorded_age_mismatch_pct
    from statistics

)

select
    month_start,
    puskesmas_key,
    puskesmas_name,
    measurements,
    {%- for name in missing_fields %}
    {{ name }}_missing_pct,
    {%- endfor %}
    {%- for index in indices %}
    {{ index }}_valid,
    {{ index }}_flagged_pct,
    {{ index }}_mean,
    {{ index }}_sd,
    {{ index }}_sd between {{ sd_ranges[index][0] }} and {{ sd_ranges[index][1] }} as {{ index }}_sd_in_range,
    {{ index }}_skewness,
    {{ who_quality_rating(index ~ '_skewness', [0.2, 0.4, 0.6]) }} as {{ index }}_skewness_rating,
    {{ index }}_kurtosis,
    {{ who_quality_rating(index ~ '_kurtosis', [0.2, 0.4, 0.6]) }} as {{ index }}_kurtosis_rating,
    {%- endfor %}
    weight_digit_dps,
    {{ who_quality_rating('weight_digit_dps', [8, 12, 20]) }} as weight_digit_rating,
    weight_digit_0_5_pct,
    height_digit_dps,
    {{ who_quality_rating('height_digit_dps', [8, 12, 20]) }} as height_digit_rating,
    height_digit_0_5_pct,
    position_mismatch_pct,
    age_heaping_dps,
    {{ who_quality_rating('age_heaping_dps', [8, 12, 20]) }} as age_heaping_rating,
    birth_day_heaped_pct,
    recorded_age_mismatch_pct
from rounded
