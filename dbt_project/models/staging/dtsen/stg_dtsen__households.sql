{# DTSEN households without kk_number, kk_raw, address, rt and rw. #}

with source_rows as (

    select * from {{ source('dtsen', 'dtsen_households') }}

),

renamed as (

    select
        household_id,
        household_key,
        kk_key,
        nullif(btrim(kelurahan_code), '') as kelurahan_code,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        case when desil between 1 and 10 then desil end as desil,
        floor_area_m2,
        floor_code,
        wall_code,
        roof_code,
        drinking_water_code,
        defecation_code,
        toilet_code,
        disposal_code,
        members_count,
        update_period,
        updated_at

    from source_rows

)

select * from renamed
