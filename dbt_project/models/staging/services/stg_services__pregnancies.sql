{#
    Pregnancies without personal columns: mother_nik, mother_nik_raw, mother_name, mother_birth_date,
    kk_number, address, rt and rw are not selected. The mother's age at HPHT is kept instead of her
    birth date (the "4 terlalu" need the age, not the date).
#}

with source_rows as (

    select * from {{ source('services', 'mch_pregnancies') }}

),

renamed as (

    select
        pregnancy_id,
        mother_nik_key,
        kk_key,
        extract(year from age(last_menstrual_date, mother_birth_date))::integer as mother_age_at_hpht,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        last_menstrual_date,
        expected_delivery_date,
        muac_cm,
        coalesce(is_kek, muac_cm < 23.5) as is_kek,
        is_high_risk,
        risk_factors,
        upper(btrim(pregnancy_status)) as pregnancy_status,
        delivery_date,
        nullif(btrim(facility_code), '') as facility_code,
        updated_at,
        extract_id

    from source_rows

)

select * from renamed
