with kabupaten_kota as (

    select * from {{ ref('ref_kabupaten_kota') }}

),

renamed as (

    select
        btrim(kab_kota_code) as kab_kota_code,
        btrim(kab_kota_name) as kab_kota_name,
        lower(btrim(kab_kota_type)) as kab_kota_type,
        btrim(province_code) as province_code,
        btrim(province_name) as province_name
    from kabupaten_kota

)

select * from renamed
