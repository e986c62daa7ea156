{#
    One intervention delivered to one person or household on one date (int_interventions_delivered).
    Incremental: merged on delivery_key, taking only rows whose source updated_at is newer than the
    newest already here. A service later voided (BATAL) or a project later cancelled is removed by the
    next full refresh only; see docs/linkage.md.
#}
{{ config(materialized='incremental', unique_key='delivery_key', incremental_strategy='merge',
          on_schema_change='fail') }}

select * from {{ ref('int_interventions_delivered') }}
{% if is_incremental() %}
where source_updated_at > (select coalesce(max(source_updated_at), '-infinity'::timestamptz) from {{ this }})
{% endif %}
