{#
    Puskesmas and posyandu: the master list (ref_facilities), posyandu seen in the data but missing from
    the master list (derived key, facility_code null), and the unknown members 'UNKNOWN' (puskesmas) and
    'UNKNOWN-POSYANDU'.
#}

with facilities as (

    select * from {{ ref('stg_reference__facilities') }}

),

locations as (

    select * from {{ ref('int_locations_resolved') }}

),

master_facilities as (

    select
        facilities.facility_code as facility_key,
        facilities.facility_type,
        facilities.facility_code,
        facilities.facility_name,
        facilities.puskesmas_code as puskesmas_key,
        puskesmas.facility_name as puskesmas_name,
        facilities.kelurahan_code,
        false as is_unknown
    from facilities
    left join facilities as puskesmas
        on puskesmas.facility_code = facilities.puskesmas_code

),

derived_posyandu as (

    select
        locations.posyandu_key as facility_key,
        'posyandu' as facility_type,
        null::text as facility_code,
        min(btrim(locations.posyandu_name_key)) as facility_name,
        min(locations.puskesmas_key) as puskesmas_key,
        coalesce(min(puskesmas.facility_name), 'UNKNOWN') as puskesmas_name,
        min(locations.kelurahan_code) as kelurahan_code,
        false as is_unknown
    from locations
    left join facilities as puskesmas
        on puskesmas.facility_code = locations.puskesmas_key
    where locations.is_posyandu_derived
    group by locations.posyandu_key

),

unknown_facilities as (

    select
        'UNKNOWN' as facility_key,
        'puskesmas' as facility_type,
        null::text as facility_code,
        'UNKNOWN' as facility_name,
        'UNKNOWN' as puskesmas_key,
        'UNKNOWN' as puskesmas_name,
        'UNKNOWN' as kelurahan_code,
        true as is_unknown
    union all
    select
        'UNKNOWN-POSYANDU',
        'posyandu',
        null::text,
        'UNKNOWN',
        'UNKNOWN',
        'UNKNOWN',
        'UNKNOWN',
        true

),

all_facilities as (

    select * from master_facilities
    union all
    select * from derived_posyandu
    union all
    select * from unknown_facilities

)

select * from all_facilities
