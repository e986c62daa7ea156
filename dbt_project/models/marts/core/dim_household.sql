{#
    Households as a type-2 dimension: one row per household and version, read from snap_households.
    valid_from / valid_to are the times of the nightly runs that first saw the version and first saw
    the next one (valid_to null while the version is current). A household that left
    int_households_resolved keeps its rows, all closed (no current row).
#}

with snapshot_rows as (

    select * from {{ ref('snap_households') }}

),

versions as (

    select
        {{ surrogate_key(['household_key', 'dbt_valid_from']) }} as household_version_key,
        household_key,
        dbt_valid_from::timestamp as valid_from,
        dbt_valid_to::timestamp as valid_to,
        dbt_valid_to is null as is_current,
        kk_key,
        kelurahan_code,
        kecamatan_code,
        desil,
        is_desil_1_4,
        water_ladder,
        water_source,
        has_improved_water,
        sanitation_ladder,
        sanitation_source,
        has_proper_latrine,
        is_uninhabitable,
        uninhabitable_source,
        has_earth_floor,
        receives_pkh,
        receives_sembako,
        has_pbi_jkn,
        father_occupation_sector_code,
        father_employment_status_code,
        mother_employment_status_code,
        krs_at_risk,
        krs_water,
        krs_latrine,
        krs_too_young,
        krs_too_old,
        krs_too_close,
        krs_too_many,
        sources
    from snapshot_rows

)

select * from versions
