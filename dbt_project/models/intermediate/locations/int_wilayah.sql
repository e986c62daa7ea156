{#
    Kelurahan of Kota Pekalongan with kecamatan, kab/kota and province, plus the 'UNKNOWN' member that takes every
    measurement whose kelurahan name matches neither a canonical name nor an alias. name_variants lists
    the aliases and the spellings seen in the data; for UNKNOWN it lists the unmatched names, which is
    the work list for ref_kelurahan_alias.csv.
#}

with kelurahan as (

    select * from {{ ref('stg_reference__kelurahan') }}

),

kabupaten_kota as (

    select * from {{ ref('stg_reference__kabupaten_kota') }}

),

aliases as (

    select * from {{ ref('stg_reference__kelurahan_aliases') }}

),

observed_names as (

    select distinct
        kelurahan_code,
        btrim(kelurahan_name_key) as kelurahan_name_seen
    from {{ ref('int_locations_resolved') }}
    where btrim(kelurahan_name_key) <> ''

),

city as (

    select
        min(city_code) as city_code,
        min(city_name) as city_name
    from kelurahan

),

variants as (

    select kelurahan_code, alias_name as variant from aliases
    union
    select kelurahan_code, kelurahan_name_seen as variant from observed_names

),

variants_per_kelurahan as (

    select
        variants.kelurahan_code,
        string_agg(distinct variants.variant, '; ' order by variants.variant) as name_variants
    from variants
    left join kelurahan
        on kelurahan.kelurahan_code = variants.kelurahan_code
    where kelurahan.kelurahan_name is distinct from variants.variant
    group by variants.kelurahan_code

),

known_kelurahan as (

    select
        kelurahan.kelurahan_code,
        kelurahan.kelurahan_name,
        kelurahan.kecamatan_code,
        kelurahan.kecamatan_name,
        kelurahan.city_code,
        kelurahan.city_name,
        kabupaten_kota.kab_kota_type,
        kabupaten_kota.province_code,
        kabupaten_kota.province_name,
        variants_per_kelurahan.name_variants,
        false as is_unknown
    from kelurahan
    inner join kabupaten_kota
        on kabupaten_kota.kab_kota_code = kelurahan.city_code
    left join variants_per_kelurahan
        on variants_per_kelurahan.kelurahan_code = kelurahan.kelurahan_code

),

unknown_kelurahan as (

    select
        'UNKNOWN' as kelurahan_code,
        'UNKNOWN' as kelurahan_name,
        'UNKNOWN' as kecamatan_code,
        'UNKNOWN' as kecamatan_name,
        city.city_code,
        city.city_name,
        kabupaten_kota.kab_kota_type,
        kabupaten_kota.province_code,
        kabupaten_kota.province_name,
        variants_per_kelurahan.name_variants,
        true as is_unknown
    from city
    inner join kabupaten_kota
        on kabupaten_kota.kab_kota_code = city.city_code
    left join variants_per_kelurahan
        on variants_per_kelurahan.kelurahan_code = 'UNKNOWN'

),

wilayah as (

    select * from known_kelurahan
    union all
    select * from unknown_kelurahan

)

select * from wilayah
