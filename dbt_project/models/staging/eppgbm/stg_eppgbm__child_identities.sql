{#
    RESTRICTED. The personal columns of e-PPGBM rows, for field follow-up only.
    Materialised in schema `identity` (not `staging`), which only the restricted role may read; the one
    model allowed to select from it is identity/child_identity. Pseudonymous models never ref() it.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('eppgbm', 'eppgbm_measurements') }}

),

identities as (

    select
        batch_id,
        source_file,
        source_row,
        measured_on,

        child_nik_key,
        child_person_key,

        nik,
        nik_status,
        child_name,
        birth_date,
        sex,
        parent_name,
        address,
        kelurahan_name

    from source_rows

)

select * from identities
