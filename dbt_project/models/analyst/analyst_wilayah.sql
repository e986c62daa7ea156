{# The kelurahan, kecamatan, kab/kota and province (dim_wilayah), to name the codes of the analyst marts. #}

select
    kelurahan_code,
    kelurahan_name,
    kecamatan_code,
    kecamatan_name,
    city_code,
    city_name,
    kab_kota_type,
    province_code,
    province_name,
    name_variants,
    is_unknown
from {{ ref('dim_wilayah') }}
