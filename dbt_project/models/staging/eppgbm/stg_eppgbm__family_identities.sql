{#
    RESTRICTED, materialised in schema identity. What the family linkage needs from e-PPGBM rows:
    the child's name, birth date and kelurahan, the family's address, RT and RW, the plain KK number and
    the parent's NIK (both reduced to their digits). Only the identity linkage models (identity/identity_*) read it; it turns these into
    pseudonymous candidates. Never ref() it from a pseudonymous model.
#}
{{ config(schema='identity', materialized='view') }}

with source_rows as (

    select * from {{ source('eppgbm', 'eppgbm_measurements') }}

),

family_identities as (

    select
        batch_id,
        source_file,
        source_row,
        measured_on,

        child_nik_key,
        child_person_key,

        child_name,
        birth_date,
        kelurahan_name,
        address,
        rt,
        rw,
        nullif(regexp_replace(coalesce(kk_number, ''), '\D', '', 'g'), '') as kk_number,
        nullif(regexp_replace(coalesce(parent_nik, ''), '\D', '', 'g'), '') as parent_nik

    from source_rows

)

select * from family_identities
