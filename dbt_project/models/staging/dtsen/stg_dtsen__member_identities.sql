{#
    RESTRICTED, materialised in schema identity. The personal columns of DTSEN members (NIK, name,
    birth date) beside their pseudonyms, for the identity linkage models (identity/identity_*) only.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('dtsen', 'dtsen_members') }}

),

member_identities as (

    select
        member_id,
        household_id,
        nik_key,
        nik,
        member_name,
        birth_date,
        sex_code,
        coalesce(residence_status_code, 1) = 1 as is_resident

    from source_rows

)

select * from member_identities
