{#
    RESTRICTED, materialised in schema identity. The personal columns of services (person's name and
    birth date, mother's NIK, plain KK number) beside their pseudonyms, for
    the identity linkage models (identity/identity_*) only. Voided (BATAL) rows are kept, like in
    stg_services__services; consumers decide.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('services', 'mch_services') }}

),

service_identities as (

    select
        service_id,
        upper(btrim(target_type)) as target_type,
        upper(btrim(target_type)) in ('BADUTA', 'BALITA', 'ANAK_PRASEKOLAH') as is_child_service,
        nik_key,
        person_name,
        birth_date,
        mother_nik_key,
        mother_nik,
        kk_key,
        kk_number,
        kelurahan_name

    from source_rows

)

select * from service_identities
