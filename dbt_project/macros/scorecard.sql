{#
    The scorecard's indicator codes in form order, for models whose columns are one per indicator
    (mart_situation_analysis.coverage_<code>_pct). Columns are fixed when the SQL is compiled, so the
    list is written here; tests/convergence/assert_scorecard_indicator_codes_match_seed.sql fails when
    it and the seed ref_scorecard_indicators, which defines the indicators, disagree.
#}
{% macro scorecard_indicator_codes() -%}
    {% do return(['IBU_01', 'IBU_02', 'IBU_03', 'IBU_04', 'IBU_05', 'IBU_06', 'IBU_07', 'IBU_08',
                  'ANAK_01', 'ANAK_02', 'ANAK_03', 'ANAK_04', 'ANAK_05', 'ANAK_06', 'ANAK_07',
                  'ANAK_08', 'ANAK_09', 'ANAK_10', 'PAUD_01']) %}
{%- endmacro %}
