{#
    Risk-factor profile of stunted and not-stunted children under five in the latest month, per
    kelurahan, kecamatan and kota and risk factor, from mart_risk_factor_profile, as the disjoint cells
    of its two-by-two table (stunted / not stunted × with / without the factor) plus the children whose
    factor is unknown, so that no published count is the difference of two others. Small cells are
    suppressed (docs/privacy.md); a percentage or ratio is published only when every count it is
    computed from is.
#}

{%- set measures = ['stunted_with', 'stunted_without', 'not_stunted_with', 'not_stunted_without', 'factor_unknown'] %}

with kelurahan_rows as (

    select
        month,
        factor_code,
        wilayah_code as kelurahan_code,
        stunted_with,
        stunted_total - stunted_with as stunted_without,
        not_stunted_with,
        not_stunted_total - not_stunted_with as not_stunted_without,
        children_assessed - children_factor_known as factor_unknown
    from {{ ref('mart_risk_factor_profile') }}
    where wilayah_level = 'kelurahan'

),

factors as (

    select distinct factor_code, factor_number, factor_label
    from {{ ref('mart_risk_factor_profile') }}

),

{{ bi_wilayah_rollup('kelurahan_rows', ['month', 'factor_code'], measures) }},

cells as (

    select month, factor_code, cell.measure, wilayah_level, wilayah_code, parent_level, parent_code,
           cell.value, {{ bi_small('cell.value') }} as is_primary
    from bi_levels
    cross join lateral (values
        ('stunted_with', stunted_with),
        ('stunted_without', stunted_without),
        ('not_stunted_with', not_stunted_with),
        ('not_stunted_without', not_stunted_without),
        ('factor_unknown', factor_unknown)
    ) as cell (measure, value)

),

{{ bi_suppress('cells', ['month', 'factor_code']) }},

{{ bi_published(measures, ['month', 'factor_code']) }}

select
    bi_published.month,
    bi_published.wilayah_level,
    bi_published.wilayah_code,
    bi_published.wilayah_name,
    bi_published.parent_wilayah_code,
    bi_published.factor_code,
    factors.factor_number,
    factors.factor_label,
    bi_published.stunted_with::integer as stunted_with,
    bi_published.stunted_without::integer as stunted_without,
    bi_published.not_stunted_with::integer as not_stunted_with,
    bi_published.not_stunted_without::integer as not_stunted_without,
    bi_published.factor_unknown::integer as factor_unknown,
    round(100.0 * stunted_with / nullif(stunted_with + stunted_without, 0), 1)::numeric(4, 1) as stunted_with_pct,
    round(100.0 * not_stunted_with / nullif(not_stunted_with + not_stunted_without, 0), 1)::numeric(4, 1)
        as not_stunted_with_pct,
    round(
        (1.0 * stunted_with / nullif(stunted_with + not_stunted_with, 0))
        / nullif(1.0 * stunted_without / nullif(stunted_without + not_stunted_without, 0), 0), 2
    )::numeric(8, 2) as prevalence_ratio,
    bi_published.suppressed_cells::integer as suppressed_cells
from bi_published
inner join factors
    on factors.factor_code = bi_published.factor_code
