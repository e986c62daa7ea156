{#
    DTSEN household members without nik, nik_raw, member_name and the birth date. Only the age in
    months at the member's last update is kept, and only for children under six (adults' birth dates
    are personal).
#}

with source_rows as (

    select * from {{ source('dtsen', 'dtsen_members') }}

),

renamed as (

    select
        member_id,
        household_id,
        nik_key,
        relation_code,
        sex_code,
        birth_certificate_code,
        occupation_sector_code,
        employment_status_code,
        kms_note_code,
        health_insurance_code,
        residence_status_code,
        coalesce(residence_status_code, 1) = 1 as is_resident,
        updated_at

    from source_rows

)

select * from renamed
