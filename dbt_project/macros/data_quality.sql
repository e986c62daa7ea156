{#
    The WHO data-quality thresholds (WHO–UNICEF 2019, docs/data-quality.md), written once for
    mart_anthropometry_quality_monthly.

    who_zscore_sd_ranges(): plausible SD of valid z-scores per index (5th–95th percentile of 51 DHS surveys).
    who_quality_rating(value, limits): 'excellent' below limits[0], 'good' below limits[1], 'acceptable'
    below limits[2], 'problematic' otherwise, on the absolute value; null when the value is null.
    Skewness and kurtosis use [0.2, 0.4, 0.6]; the digit preference score [8, 12, 20].
#}
{% macro who_zscore_sd_ranges() -%}
    {{ return({'haz': [1.35, 1.95], 'waz': [1.17, 1.46], 'whz': [1.08, 1.50], 'baz': [1.08, 1.55]}) }}
{%- endmacro %}

{% macro who_quality_rating(value, limits) -%}
    case
        when {{ value }} is null then null
        when abs({{ value }}) < {{ limits[0] }} then 'excellent'
        when abs({{ value }}) < {{ limits[1] }} then 'good'
        when abs({{ value }}) < {{ limits[2] }} then 'acceptable'
        else 'problematic'
    end
{%- endmacro %}
