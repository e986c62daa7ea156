{#
    The naive SQL that `make bench` measures int_measurements_zscored against (issue 9: the model must
    score at least twice as fast on the same freshly loaded rows). Not part of any night.

    It computes the same values in the way one would write them first: each index joins its own WHO
    table from the seeds, the age's length/height convention is re-derived per row, weight-for-length/
    height interpolates between the two neighbouring 0.1 cm rows joined separately, and the z-score
    expressions are written where they are used (no compute_once fences, no reference tables prepared
    per age or per tenth of a centimetre). The formula itself comes from macros/anthropometry.sql, as
    in the model: there is one source of it.
#}

with measurements as (

    select
        source_file,
        source_row,
        case sex when 'L' then 1 when 'P' then 2 end as sex_code,
        measured_on - birth_date as age_days,
        weight_kg,
        height_cm + case
            when measured_on - birth_date not between 0 and 1826 then null
            when measured_on - birth_date < 274 then 0.0
            when position = 'standing' and measured_on - birth_date < 731 then 0.7
            when position = 'lying' and measured_on - birth_date >= 731 then -0.7
            else 0.0
        end as height_cm_adjusted
    from {{ ref('stg_eppgbm__measurements') }}

),

with_references as (

    select
        measurements.*,
        weight_kg / ((height_cm_adjusted / 100) * (height_cm_adjusted / 100)) as bmi,
        length_for_age.l as length_l, length_for_age.m as length_m, length_for_age.s as length_s,
        weight_for_age.l as weight_l, weight_for_age.m as weight_m, weight_for_age.s as weight_s,
        bmi_for_age.l as bmi_l, bmi_for_age.m as bmi_m, bmi_for_age.s as bmi_s,
        coalesce(lower_length.l, lower_height.l) as lower_l,
        coalesce(lower_length.m, lower_height.m) as lower_m,
        coalesce(lower_length.s, lower_height.s) as lower_s,
        coalesce(upper_length.l, upper_height.l) as upper_l,
        coalesce(upper_length.m, upper_height.m) as upper_m,
        coalesce(upper_length.s, upper_height.s) as upper_s,
        height_cm_adjusted * 10 - floor(height_cm_adjusted * 10 + 1e-9) as fraction
    from measurements
    left join {{ ref('who_lenanthro') }} as length_for_age
        on length_for_age.sex = measurements.sex_code and length_for_age.age = measurements.age_days
        and measurements.age_days between 0 and 1826
    left join {{ ref('who_weianthro') }} as weight_for_age
        on weight_for_age.sex = measurements.sex_code and weight_for_age.age = measurements.age_days
        and measurements.age_days between 0 and 1826
    left join {{ ref('who_bmianthro') }} as bmi_for_age
        on bmi_for_age.sex = measurements.sex_code and bmi_for_age.age = measurements.age_days
        and measurements.age_days between 0 and 1826
    {#- each neighbour row of weight-for-length (under 731 days) and of weight-for-height (from 731) -#}
    {%- for table, stature, ages in [('who_wflanthro', 'length', '0 and 730'), ('who_wfhanthro', 'height', '731 and 1826')] %}
    {%- for side, step in [('lower', ''), ('upper', ' + 1')] %}
    left join {{ ref(table) }} as {{ side }}_{{ stature }}
        on measurements.age_days between {{ ages }} and {{ side }}_{{ stature }}.sex = measurements.sex_code
        and round({{ side }}_{{ stature }}.{{ stature }} * 10) = floor(measurements.height_cm_adjusted * 10 + 1e-9){{ step }}
    {%- endfor %}
    {%- endfor %}

),

{#- Between the two neighbouring rows; past the table's last row only a length exactly on it has a value. -#}
interpolated as (

    select
        with_references.*,
        case when upper_l is not null then lower_l + fraction * (upper_l - lower_l)
             when fraction < 1e-6 then lower_l end as stature_l,
        case when upper_m is not null then lower_m + fraction * (upper_m - lower_m)
             when fraction < 1e-6 then lower_m end as stature_m,
        case when upper_s is not null then lower_s + fraction * (upper_s - lower_s)
             when fraction < 1e-6 then lower_s end as stature_s
    from with_references

)

{%- set haz = lms_zscore('height_cm_adjusted', 'length_l', 'length_m', 'length_s') -%}
{%- set waz = restricted_zscore(lms_zscore('weight_kg', 'weight_l', 'weight_m', 'weight_s'),
                                'weight_kg', 'weight_l', 'weight_m', 'weight_s') -%}
{%- set whz = restricted_zscore(lms_zscore('weight_kg', 'stature_l', 'stature_m', 'stature_s'),
                                'weight_kg', 'stature_l', 'stature_m', 'stature_s') -%}
{%- set baz = restricted_zscore(lms_zscore('bmi', 'bmi_l', 'bmi_m', 'bmi_s'), 'bmi', 'bmi_l', 'bmi_m', 'bmi_s') %}

select
    source_file,
    source_row,
    {{ haz }} as haz,
    {{ waz }} as waz,
    {{ whz }} as whz,
    {{ baz }} as baz,
    {{ height_for_age_category(haz) }} as haz_category,
    {{ weight_for_age_category(waz) }} as waz_category,
    {{ nutritional_status_category(whz) }} as whz_category,
    {{ nutritional_status_category(baz) }} as baz_category,
    {{ implausible_zscore_flag(haz, -6, 6) }} as haz_flag,
    {{ implausible_zscore_flag(waz, -6, 5) }} as waz_flag,
    {{ implausible_zscore_flag(whz, -5, 5) }} as whz_flag,
    {{ implausible_zscore_flag(baz, -5, 5) }} as baz_flag
from interpolated
