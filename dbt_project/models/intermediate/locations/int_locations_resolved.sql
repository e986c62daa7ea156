{#
    Every combination of kelurahan, puskesmas and posyandu name as written in the deduplicated
    measurements, resolved to dimension keys. Names are normalised once per distinct combination (not
    once per measurement), with the same macros as the normalised columns of stg_eppgbm__measurements.
    Nothing is dropped:
    - kelurahan: normalised name against canonical names and aliases, otherwise 'UNKNOWN';
    - puskesmas: normalised name against the master list, otherwise 'UNKNOWN';
    - posyandu: missing name → 'UNKNOWN-POSYANDU'; else the master posyandu of that name in the
      kelurahan, else the only master posyandu of that name in the puskesmas; else a key derived from
      puskesmas, kelurahan and normalised name (a posyandu the master list does not know yet).
    The *_name_key columns hold the name as written, '' when missing, so that they join with equality.
#}

with observed_names as (

    select distinct
        coalesce(kelurahan_name, '') as kelurahan_name_key,
        coalesce(puskesmas_name, '') as puskesmas_name_key,
        coalesce(posyandu_name, '') as posyandu_name_key
    from {{ ref('int_measurements_deduplicated') }}

),

normalised_names as (

    select
        kelurahan_name_key,
        puskesmas_name_key,
        posyandu_name_key,
        {{ normalise_kelurahan_name('kelurahan_name_key') }} as kelurahan_name_normalised,
        {{ normalise_puskesmas_name('puskesmas_name_key') }} as puskesmas_name_normalised,
        {{ normalise_posyandu_name('posyandu_name_key') }} as posyandu_name_normalised
    from observed_names

),

kelurahan_names as (

    select * from {{ ref('int_kelurahan_names') }}

),

facilities as (

    select * from {{ ref('stg_reference__facilities') }}

),

puskesmas as (

    select
        facility_name_normalised,
        facility_code as puskesmas_key
    from facilities
    where facility_type = 'puskesmas'

),

posyandu as (

    select
        facility_code,
        facility_name_normalised,
        puskesmas_code,
        kelurahan_code,
        count(*) over (partition by puskesmas_code, facility_name_normalised) as same_name_in_puskesmas
    from facilities
    where facility_type = 'posyandu'

),

with_area_keys as (

    select
        normalised_names.*,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        coalesce(puskesmas.puskesmas_key, 'UNKNOWN') as puskesmas_key
    from normalised_names
    left join kelurahan_names
        on kelurahan_names.name_normalised = normalised_names.kelurahan_name_normalised
    left join puskesmas
        on puskesmas.facility_name_normalised = normalised_names.puskesmas_name_normalised

),

resolved as (

    select
        with_area_keys.kelurahan_name_key,
        with_area_keys.puskesmas_name_key,
        with_area_keys.posyandu_name_key,
        with_area_keys.kelurahan_name_normalised,
        with_area_keys.posyandu_name_normalised,
        with_area_keys.kelurahan_code,
        with_area_keys.puskesmas_key,
        case
            when with_area_keys.posyandu_name_normalised is null then 'UNKNOWN-POSYANDU'
            else coalesce(
                posyandu_in_kelurahan.facility_code,
                posyandu_in_puskesmas.facility_code,
                'POSYANDU-' || with_area_keys.puskesmas_key
                    || '-' || with_area_keys.kelurahan_code
                    || '-' || with_area_keys.posyandu_name_normalised
            )
        end as posyandu_key,
        coalesce(
            posyandu_in_kelurahan.facility_code is null
                and posyandu_in_puskesmas.facility_code is null
                and with_area_keys.posyandu_name_normalised is not null,
            false
        ) as is_posyandu_derived
    from with_area_keys
    left join posyandu as posyandu_in_kelurahan
        on posyandu_in_kelurahan.kelurahan_code = with_area_keys.kelurahan_code
        and posyandu_in_kelurahan.facility_name_normalised = with_area_keys.posyandu_name_normalised
    left join posyandu as posyandu_in_puskesmas
        on posyandu_in_puskesmas.puskesmas_code = with_area_keys.puskesmas_key
        and posyandu_in_puskesmas.facility_name_normalised = with_area_keys.posyandu_name_normalised
        and posyandu_in_puskesmas.same_name_in_puskesmas = 1

)

select * from resolved
