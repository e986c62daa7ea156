{#
    RESTRICTED, materialised in schema identity. The personal columns of DTSEN households (plain KK
    number, address, RT, RW) beside their pseudonyms, for the identity linkage models (identity/identity_*) only.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('dtsen', 'dtsen_households') }}

),

household_identities as (

    select
        household_id,
        household_key,
        kk_key,
        kk_number,
        nullif(btrim(kelurahan_code), '') as kelurahan_code,
        address,
        rt,
        rw

    from source_rows

)

select * from household_identities
