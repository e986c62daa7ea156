{#
    How the city is spelled as a wilayah level. The warehouse says 'kota' (scorecard, risk-factor,
    situation-analysis and target marts, and the city rows of ref_prevalence_targets).
    mart_stunting_prevalence_monthly has published 'city' since its first release and keeps it, so
    that its rows and its readers do not change; models that read it compare with
    prevalence_city_level(). (mart_linkage_rates marks its city-wide rows with kelurahan_code 'CITY'.)
#}
{% macro city_level() -%}
    'kota'
{%- endmacro %}

{% macro prevalence_city_level() -%}
    'city'
{%- endmacro %}
