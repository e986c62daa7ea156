{#
    RESTRICTED, materialised in schema identity. The plain KK number and the wife's NIK of BKKBN rows
    beside their pseudonyms: the identity linkage models (identity/identity_*) use them to translate e-PPGBM's
    plain numbers into keys.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('bkkbn', 'bkkbn_families') }}

),

family_identities as (

    select
        source_file,
        source_row,
        {{ surrogate_key(['source_file', 'source_row']) }} as family_record_key,
        kk_key,
        kk_number,
        wife_nik_key,
        wife_nik

    from source_rows

)

select * from family_identities
