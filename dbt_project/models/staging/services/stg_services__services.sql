{#
    Services without personal columns: person_name, nik, nik_raw, mother_nik and kk_number are not
    selected. The birth date is kept for children only (it is how a child without NIK is matched).
#}

with source_rows as (

    select * from {{ source('services', 'mch_services') }}

),

renamed as (

    select
        service_id,
        upper(btrim(service_code)) as intervention_code,
        service_date,
        upper(btrim(target_type)) as target_type,
        upper(btrim(target_type)) in ('BADUTA', 'BALITA', 'ANAK_PRASEKOLAH') as is_child_service,
        nik_key,
        mother_nik_key,
        kk_key,
        case
            when upper(btrim(target_type)) in ('BADUTA', 'BALITA', 'ANAK_PRASEKOLAH') then birth_date
        end as child_birth_date,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        nullif(btrim(facility_code), '') as facility_code,
        coalesce(quantity, 1) as quantity,
        upper(btrim(status)) as status,
        upper(btrim(status)) = 'BATAL' as is_voided,
        updated_at,
        extract_id

    from source_rows

)

select * from renamed
