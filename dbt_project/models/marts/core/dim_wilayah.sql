{# Kelurahan with kecamatan, kab/kota and province, plus the UNKNOWN member: int_wilayah, published. #}

select * from {{ ref('int_wilayah') }}
