{# Kelurahan with kecamatan and city, plus the UNKNOWN member: int_wilayah, published. #}

select * from {{ ref('int_wilayah') }}
