{# The kelurahan, kecamatan and city (dim_wilayah), to name the codes of the analyst marts. #}

select
    kelurahan_code,
    kelurahan_name,
    kecamatan_code,
    kecamatan_name,
    city_code,
    city_name,
    name_variants,
    is_unknown
from {{ ref('dim_wilayah') }}
