{#
    RESTRICTED, materialised in schema identity. Plain KK number, address, RT and RW of PUPR projects
    beside their pseudonyms, for the identity linkage models (identity/identity_*) only. The coordinates are
    not needed for linkage and are not selected.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('pupr', 'pupr_projects') }}

),

project_identities as (

    select
        project_id,
        kk_key,
        kk_number,
        address,
        rt,
        rw,
        kelurahan_name

    from source_rows

)

select * from project_identities
