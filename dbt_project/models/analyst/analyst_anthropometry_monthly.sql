{#
    One row per measurement (fct_anthropometry) for analysts, at month grain: the month measured and the
    age in whole months instead of the day and the age in days (which together give the birth date), the
    analyst marts' HMAC keys instead of the warehouse's, and no lineage (file and row of the export, which
    carry the NIK). Z-scores are rounded to one decimal: at two decimals, with height and sex, they pin
    the age to about a day and so the birth date. e-PPGBM's own z-scores are left out for the same reason.
#}

select
    {{ analyst_key('measurement_key', 'measurement') }} as measurement_key,
    {{ analyst_key('child_key', 'child') }} as child_key,
    measurement_month,
    floor(age_days / 30.4375)::integer as age_months,
    sex,
    round(weight_kg::numeric, 1)::numeric(5, 1) as weight_kg,
    round(height_cm::numeric, 1)::numeric(5, 1) as height_cm,
    position,
    round(height_cm_adjusted::numeric, 1)::numeric(5, 1) as height_cm_adjusted,
    position_flag,
    round(haz::numeric, 1)::numeric(4, 1) as haz,
    round(waz::numeric, 1)::numeric(4, 1) as waz,
    round(whz::numeric, 1)::numeric(4, 1) as whz,
    round(baz::numeric, 1)::numeric(4, 1) as baz,
    haz_category,
    waz_category,
    whz_category,
    baz_category,
    haz_flag,
    waz_flag,
    whz_flag,
    baz_flag,
    kelurahan_code,
    puskesmas_key,
    posyandu_key
from {{ ref('fct_anthropometry') }}
