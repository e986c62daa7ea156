{#
    How the city is spelled as a wilayah level, everywhere: 'kota' (the prevalence, scorecard,
    risk-factor, situation-analysis, target and linkage marts, and ref_prevalence_targets). The
    city-wide rows of mart_linkage_rates carry it as their kelurahan_code.
#}
{% macro city_level() -%}
    'kota'
{%- endmacro %}
