with kelurahan as (

    select * from {{ ref('ref_kelurahan') }}

),

renamed as (

    select
        kelurahan_code,
        kelurahan_name,
        {{ normalise_kelurahan_name('kelurahan_name') }} as kelurahan_name_normalised,
        kecamatan_code,
        kecamatan_name,
        city_code,
        city_name
    from kelurahan

)

select * from renamed
