{#
    e-PPGBM measurements without personal data: pseudonyms, lineage and cleaned attributes only.
    Deliberately not selected: nik, nik_raw, child_name, parent_name, parent_nik, kk_number, phone,
    address, rt, rw (see stg_eppgbm__child_identities for the restricted counterpart).
#}

with source_rows as (

    select * from {{ source('eppgbm', 'eppgbm_measurements') }}

),

renamed as (

    select
        batch_id,
        source_file,
        file_checksum,
        source_row,

        child_nik_key,
        child_person_key,
        nik_status,

        sex,
        birth_date,
        birth_weight_kg,
        birth_length_cm,

        province_name,
        city_name,
        kecamatan_name,
        puskesmas_name,
        kelurahan_name,
        posyandu_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        {{ normalise_puskesmas_name('puskesmas_name') }} as puskesmas_name_normalised,
        {{ normalise_posyandu_name('posyandu_name') }} as posyandu_name_normalised,

        age_text,
        measured_on,
        date_trunc('month', measured_on)::date as measurement_month,
        measurement_month as measurement_month_text,

        case when weight_kg > 0 then weight_kg end as weight_kg,
        case when height_cm > 0 then height_cm end as height_cm,
        position,
        position_raw,
        case when muac_cm > 0 then muac_cm end as muac_cm,

        eppgbm_waz_category,
        eppgbm_waz,
        eppgbm_haz_category,
        eppgbm_haz,
        eppgbm_whz_category,
        eppgbm_whz,

        weight_gain,
        pmt_received_kg,
        vit_a_count,
        kpsp,
        kia,

        weight_raw,
        height_raw,
        cleaning_notes

    from source_rows

)

select * from renamed
