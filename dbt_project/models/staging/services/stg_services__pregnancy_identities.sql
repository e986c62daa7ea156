{#
    RESTRICTED, materialised in schema identity. The personal columns of pregnancies (mother's NIK,
    name and birth date, plain KK number, address, RT, RW) beside their pseudonyms, for
    the identity linkage models (identity/identity_*) only.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('services', 'mch_pregnancies') }}

),

pregnancy_identities as (

    select
        pregnancy_id,
        mother_nik_key,
        mother_nik,
        mother_name,
        mother_birth_date,
        kk_key,
        kk_number,
        address,
        rt,
        rw,
        kelurahan_name

    from source_rows

)

select * from pregnancy_identities
