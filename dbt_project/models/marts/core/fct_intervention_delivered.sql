{#
    One intervention delivered to one person or household on one date (int_interventions_delivered).

    Materialised as a table, not incrementally. It was incremental (merged on delivery_key, taking the
    rows whose source updated_at was newer than the newest already here), but the marts are rebuilt in
    the audit schema and swapped in every night, so the increment only ever ran after a night whose
    gate failed, on top of that night's unpublished table, and then it was wrong: one watermark for
    three sources skipped the public-works projects that arrived after an outage (their updated_at
    older than the services' newest), and a row whose household was linked later kept its old
    household_key. The 30-night soak found it (`make soak REBUILD=every`): on the night after the gate
    had stopped two nights, 33 deliveries were missing and 4 others differed from a rebuild.
#}
{{ config(materialized='table') }}

select * from {{ ref('int_interventions_delivered') }}
