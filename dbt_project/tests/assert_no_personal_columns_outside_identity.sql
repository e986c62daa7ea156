-- Personal columns of the raw tables (NIK and KK numbers, names of people, adults' birth dates,
-- addresses, RT/RW, coordinates, phone numbers) may only appear in raw, in the identity schema and in
-- the restricted schema: none of them may exist in the pseudonymous schemas dbt builds (staging, where
-- the *_identities views are configured into identity; intermediate; snapshots; reference; the marts
-- audit schema). Besides the names listed, any column named like a plain NIK (nik, <word>_nik or
-- <word>_nik_raw; keys such as mother_nik_key or child_key_without_nik are fine) fails the test.
{% set personal_columns = [
    'nik', 'nik_raw', 'kk_number', 'kk_raw',
    'child_name', 'parent_name', 'parent_nik', 'mother_name', 'member_name', 'head_name', 'wife_name',
    'recipient_name', 'person_name', 'father_name',
    'mother_nik', 'mother_nik_raw', 'wife_nik', 'wife_nik_raw', 'head_nik', 'head_nik_raw',
    'mother_birth_date', 'wife_birth_date', 'head_birth_date', 'father_birth_date', 'member_birth_date',
    'phone', 'address', 'rt', 'rw', 'longitude', 'latitude',
] %}
{% set pseudonymous_schemas = [
    ref('stg_eppgbm__measurements').schema,
    ref('stg_dtsen__members').schema,
    ref('int_measurements_deduplicated').schema,
    ref('int_households_resolved').schema,
    ref('snap_households').schema,
    ref('ref_kelurahan').schema,
    ref('fct_anthropometry').schema,
    ref('mart_stunting_prevalence_monthly').schema,
    ref('dim_household').schema,
] | unique | list %}

select
    table_schema,
    table_name,
    column_name
from information_schema.columns
where table_catalog = '{{ target.database }}'
    and table_schema in ({% for schema in pseudonymous_schemas %}'{{ schema }}'{{ ", " if not loop.last }}{% endfor %})
    and (
        column_name in ({% for column in personal_columns %}'{{ column }}'{{ ", " if not loop.last }}{% endfor %})
        or column_name ~ '^([a-z]+_)?nik(_raw)?$'
    )
