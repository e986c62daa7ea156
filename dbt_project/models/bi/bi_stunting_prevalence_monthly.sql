{#
    Monthly stunting, wasting and underweight per kelurahan, kecamatan and kota, for the BI role and its
    dashboards: the counts of mart_stunting_prevalence_monthly with small cells suppressed (docs/privacy.md).
    Kecamatan and kota rows are sums of the kelurahan rows (UNKNOWN kelurahan under the UNKNOWN kecamatan).
    A count is hidden (null) when it is 1–4, or when what it leaves of its denominator is 1–4 (e.g. 3
    children not stunted out of 20 measured), then complementary cells are hidden so that no hidden count
    can be recovered by subtraction; a rate is published only when its count and denominator are.
    The number of children measured (which would give the flagged children by subtraction) is not published.
#}

{%- set measures = ['haz_denominator', 'stunted', 'severely_stunted', 'whz_denominator', 'wasted',
                    'waz_denominator', 'underweight'] %}

with kelurahan_rows as (

    select month_start, wilayah_code as kelurahan_code, {{ measures | join(', ') }}
    from {{ ref('mart_stunting_prevalence_monthly') }}
    where wilayah_level = 'kelurahan'

),

{{ bi_wilayah_rollup('kelurahan_rows', ['month_start'], measures) }},

cells as (

    select month_start, cell.measure, wilayah_level, wilayah_code, parent_level, parent_code, cell.value, cell.is_primary
    from bi_levels
    cross join lateral (values
        ('haz_denominator', haz_denominator, {{ bi_small('haz_denominator') }}),
        ('stunted', stunted, {{ bi_small('stunted') }} or {{ bi_small('haz_denominator - stunted') }}),
        ('severely_stunted', severely_stunted, {{ bi_small('severely_stunted') }}
            or {{ bi_small('stunted - severely_stunted') }} or {{ bi_small('haz_denominator - severely_stunted') }}),
        ('whz_denominator', whz_denominator, {{ bi_small('whz_denominator') }}),
        ('wasted', wasted, {{ bi_small('wasted') }} or {{ bi_small('whz_denominator - wasted') }}),
        ('waz_denominator', waz_denominator, {{ bi_small('waz_denominator') }}),
        ('underweight', underweight, {{ bi_small('underweight') }} or {{ bi_small('waz_denominator - underweight') }})
    ) as cell (measure, value, is_primary)

),

{{ bi_suppress('cells', ['month_start']) }},

{{ bi_published(measures, ['month_start']) }}

select
    month_start,
    wilayah_level,
    wilayah_code,
    wilayah_name,
    parent_wilayah_code,
    haz_denominator::integer as haz_denominator,
    stunted::integer as stunted,
    severely_stunted::integer as severely_stunted,
    round(100.0 * stunted / nullif(haz_denominator, 0), 1)::numeric(4, 1) as stunting_pct,
    round(100.0 * severely_stunted / nullif(haz_denominator, 0), 1)::numeric(4, 1) as severe_stunting_pct,
    whz_denominator::integer as whz_denominator,
    wasted::integer as wasted,
    round(100.0 * wasted / nullif(whz_denominator, 0), 1)::numeric(4, 1) as wasting_pct,
    waz_denominator::integer as waz_denominator,
    underweight::integer as underweight,
    round(100.0 * underweight / nullif(waz_denominator, 0), 1)::numeric(4, 1) as underweight_pct,
    suppressed_cells::integer as suppressed_cells
from bi_published
