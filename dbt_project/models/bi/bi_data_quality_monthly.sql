{#
    Data quality per puskesmas and month (mart_data_quality_monthly) for the BI dashboards. There are no
    totals over puskesmas, so only the primary rule applies (docs/privacy.md): a count of 1–4 is hidden;
    a flag percentage is hidden when it could stand for 1–4 flagged (or 1–4 unflagged) measurements,
    judged against the puskesmas' measurements, which bound the percentage's own denominator from above;
    a puskesmas with 1–4 measurements shows none of its figures.
#}

{%- set measures = ['measurements', 'unknown_kelurahan', 'duplicate_rows', 'eppgbm_haz_disagree'] %}

with quality as (

    select * from {{ ref('mart_data_quality_monthly') }}

),

cells as (

    select
        quality.month_start, cell.measure, 'puskesmas'::text as wilayah_level, quality.puskesmas_key as wilayah_code,
        null::text as parent_level, null::text as parent_code, cell.value::bigint as value,
        {{ bi_small('cell.value') }} or {{ bi_small('quality.measurements') }} as is_primary
    from quality
    cross join lateral (values
        ('measurements', measurements),
        ('unknown_kelurahan', unknown_kelurahan),
        ('duplicate_rows', duplicate_rows),
        ('eppgbm_haz_disagree', eppgbm_haz_disagree)
    ) as cell (measure, value)

),

{{ bi_suppress('cells', ['month_start'], passes=1) }},

published as (

    select
        month_start, wilayah_code as puskesmas_key
        {%- for m in measures %},
        max(value) filter (where measure = '{{ m }}' and not is_hidden) as {{ m }}
        {%- endfor %},
        count(*) filter (where is_hidden) as suppressed_cells
    from suppressed
    group by month_start, wilayah_code

)

select
    quality.month_start,
    quality.puskesmas_key,
    quality.puskesmas_name,
    published.measurements::integer as measurements,
    {%- for flag in ['haz', 'waz', 'whz'] %}
    case when published.measurements is not null
        and not {{ bi_small('ceil(quality.' ~ flag ~ '_flagged_pct * quality.measurements / 100.0)') }}
        and not {{ bi_small('ceil((100 - quality.' ~ flag ~ '_flagged_pct) * quality.measurements / 100.0)') }}
        then round(quality.{{ flag }}_flagged_pct, 1) end::numeric(4, 1) as {{ flag }}_flagged_pct,
    {%- endfor %}
    case when published.measurements is not null then quality.sd_haz end::numeric(6, 2) as sd_haz,
    published.unknown_kelurahan::integer as unknown_kelurahan,
    published.duplicate_rows::integer as duplicate_rows,
    published.eppgbm_haz_disagree::integer as eppgbm_haz_disagree,
    published.suppressed_cells::integer as suppressed_cells
from quality
inner join published
    on published.month_start = quality.month_start
    and published.puskesmas_key = quality.puskesmas_key
