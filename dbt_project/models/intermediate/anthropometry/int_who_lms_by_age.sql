{#
    The three age-indexed WHO tables side by side, one row per sex and age in days (0–1826), so that
    HAZ, WAZ and BAZ need a single equi-join on (sex, age_days). Sex is translated to e-PPGBM's L/P.

    Each age also carries the WHO length/height convention (anthropometry.md, step 2) as data, so that
    int_measurements_zscored adjusts a measurement with one lookup instead of re-deriving the age
    classes for every row:
    - stature_measure: length below 731 days, height from 731 days (picks WFL or WFH);
    - standing_adjustment_cm: +0.7 when measured standing below 731 days, except below 9 months
      (age_days < 9 × 30.4375, i.e. ≤ 273), where a standing measurement is implausible and left as is;
    - lying_adjustment_cm: −0.7 when measured lying from 731 days;
    - is_standing_implausible: measured standing below 9 months raises the position flag.
#}

{#-
    Analysed as soon as it is built: the z-score model joins every measurement to this table, and
    without statistics the planner guesses its size from its pages and may sort a million rows to
    merge-join them instead of hashing this small table (autovacuum analyses it only later).
-#}
{{ config(post_hook='analyze {{ this }}') }}

{%- set first_height_age_days = 731 -%}
{#- integer days below 9 months: age_days < 9 × 30.4375 = 273.9375  ⇔  age_days < 274 -#}
{%- set nine_months_days = (9 * 30.4375) | round(0, 'ceil') | int -%}

with length_for_age as (

    select * from {{ ref('who_lenanthro') }}

),

weight_for_age as (

    select * from {{ ref('who_weianthro') }}

),

bmi_for_age as (

    select * from {{ ref('who_bmianthro') }}

),

by_age as (

    select
        case length_for_age.sex when 1 then 'L' when 2 then 'P' end as sex,
        length_for_age.age as age_days,
        length_for_age.l as length_l,
        length_for_age.m as length_m,
        length_for_age.s as length_s,
        weight_for_age.l as weight_l,
        weight_for_age.m as weight_m,
        weight_for_age.s as weight_s,
        bmi_for_age.l as bmi_l,
        bmi_for_age.m as bmi_m,
        bmi_for_age.s as bmi_s,
        case
            when length_for_age.age < {{ first_height_age_days }} then 'length'
            else 'height'
        end as stature_measure,
        case
            when length_for_age.age < {{ nine_months_days }} then 0.0
            when length_for_age.age < {{ first_height_age_days }} then 0.7
            else 0.0
        end::double precision as standing_adjustment_cm,
        case
            when length_for_age.age < {{ first_height_age_days }} then 0.0
            else -0.7
        end::double precision as lying_adjustment_cm,
        length_for_age.age < {{ nine_months_days }} as is_standing_implausible
    from length_for_age
    inner join weight_for_age
        on weight_for_age.sex = length_for_age.sex
        and weight_for_age.age = length_for_age.age
    inner join bmi_for_age
        on bmi_for_age.sex = length_for_age.sex
        and bmi_for_age.age = length_for_age.age

)

select * from by_age
