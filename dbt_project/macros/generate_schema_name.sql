{#
    Custom schemas are used verbatim (staging, intermediate, identity, reference) instead of dbt's
    default "<target schema>_<custom schema>". The custom schema "marts" is a placeholder for tonight's
    audit schema, $KONVERGENSI_MARTS_SCHEMA (default marts_audit), which the gate checks and the
    publish step swaps into "marts". Likewise "restricted" (person-level lists for the field teams) is a
    placeholder for $KONVERGENSI_RESTRICTED_SCHEMA (default restricted_audit), published as "restricted";
    and the consumption layers "analyst" and "bi" (docs/privacy.md) for $KONVERGENSI_ANALYST_SCHEMA
    (analyst_audit) and $KONVERGENSI_BI_SCHEMA (bi_audit), published as "analyst" and "bi".
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' -%}
        {{ env_var('KONVERGENSI_MARTS_SCHEMA', 'marts_audit') }}
    {%- elif custom_schema_name | trim == 'restricted' -%}
        {{ env_var('KONVERGENSI_RESTRICTED_SCHEMA', 'restricted_audit') }}
    {%- elif custom_schema_name | trim == 'analyst' -%}
        {{ env_var('KONVERGENSI_ANALYST_SCHEMA', 'analyst_audit') }}
    {%- elif custom_schema_name | trim == 'bi' -%}
        {{ env_var('KONVERGENSI_BI_SCHEMA', 'bi_audit') }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
