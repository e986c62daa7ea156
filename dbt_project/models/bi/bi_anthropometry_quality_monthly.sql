{#
    The WHO data-quality statistics per puskesmas and month (mart_anthropometry_quality_monthly) for the
    BI dashboards. No totals over puskesmas: only the primary rule applies (docs/privacy.md). A count of
    1–4 is hidden; a puskesmas with 1–4 measurements shows none of its figures; an index's SD, skewness,
    kurtosis and ratings are shown only when its valid z-scores are not 1–4. Scores and ratings name no
    child; the percentages (missing fields, position mismatch, heaped birth days), which could stand for
    1–4 measurements, and the mean z-scores stay in the internal mart.
#}

{%- set indices = ['haz', 'waz', 'whz', 'baz'] %}

with quality as (

    select * from {{ ref('mart_anthropometry_quality_monthly') }}

),

visibility as (

    select
        *,
        not {{ bi_small('measurements') }} as is_shown
        {%- for index in indices %},
        not {{ bi_small('measurements') }} and not {{ bi_small(index ~ '_valid') }} as {{ index }}_is_shown
        {%- endfor %}
    from quality

)

select
    month_start,
    puskesmas_key,
    puskesmas_name,
    case when is_shown then measurements end::integer as measurements,
    {%- for index in indices %}
    case when {{ index }}_is_shown then {{ index }}_valid end::integer as {{ index }}_valid,
    {%- for statistic, type in [('sd', 'numeric(6,2)'), ('sd_in_range', 'boolean'), ('skewness', 'numeric(6,2)'),
                                ('skewness_rating', 'text'), ('kurtosis', 'numeric(6,2)'), ('kurtosis_rating', 'text')] %}
    case when {{ index }}_is_shown then {{ index }}_{{ statistic }} end::{{ type }} as {{ index }}_{{ statistic }},
    {%- endfor %}
    {%- endfor %}
    {%- for score in ['weight_digit', 'height_digit', 'age_heaping'] %}
    case when is_shown then {{ score }}_dps end::numeric(6, 2) as {{ score }}_dps,
    case when is_shown then {{ score }}_rating end::text as {{ score }}_rating,
    {%- endfor %}
    (
        case when {{ bi_small('measurements') }} then 1 else 0 end
        {%- for index in indices %}
        + case when {{ index }}_valid is not null and not {{ index }}_is_shown then 1 else 0 end
        {%- endfor %}
    )::integer as suppressed_cells
from visibility
