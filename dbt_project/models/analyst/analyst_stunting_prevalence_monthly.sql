{# Monthly stunting, wasting and underweight per kelurahan, kecamatan and city (mart_stunting_prevalence_monthly), unsuppressed: analysts may see small counts. #}

select
    month_start,
    wilayah_level,
    wilayah_code,
    wilayah_name,
    kecamatan_code,
    children_measured,
    haz_denominator,
    stunted,
    severely_stunted,
    stunting_pct,
    severe_stunting_pct,
    whz_denominator,
    wasted,
    wasting_pct,
    waz_denominator,
    underweight,
    underweight_pct,
    stunting_pct_prev_month
from {{ ref('mart_stunting_prevalence_monthly') }}
