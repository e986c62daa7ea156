-- Personal columns of raw.eppgbm_measurements may only appear in the restricted identity schema:
-- none of them may exist in the staging, intermediate or marts relations dbt builds.
{% set personal_columns = ['nik', 'nik_raw', 'child_name', 'parent_name', 'parent_nik', 'kk_number',
                           'phone', 'address', 'rt', 'rw'] %}
{% set pseudonymous_schemas = [
    ref('stg_eppgbm__measurements').schema,
    ref('int_measurements_deduplicated').schema,
    ref('fct_anthropometry').schema,
    ref('mart_stunting_prevalence_monthly').schema,
] | unique | list %}

select
    table_schema,
    table_name,
    column_name
from information_schema.columns
where table_catalog = '{{ target.database }}'
    and table_schema in ({% for schema in pseudonymous_schemas %}'{{ schema }}'{{ ", " if not loop.last }}{% endfor %})
    and column_name in ({% for column in personal_columns %}'{{ column }}'{{ ", " if not loop.last }}{% endfor %})
