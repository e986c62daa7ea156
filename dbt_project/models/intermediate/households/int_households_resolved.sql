{#
    One row per household, current state: DTSEN households (household_key from id_rt) plus families
    outside DTSEN keyed by their KK key (own_kk links of BKKBN, PUPR surveys and pregnancies).
    Attributes per ladder come from the best source available, named in *_source:
    the latest linked PUPR survey when it is newer than the DTSEN update, else the DTSEN Regsosek codes
    mapped through ref_regsosek_codes, else the latest linked BKKBN flags. Unknown stays 'unknown' /
    null: nothing is guessed. PBI-JKN and the parents' work: int_household_member_attributes.
    has_improved_water means at least basic drinking water (ladder *layak dasar* or *aman*; *layak
    terbatas*, an improved source more than 30 minutes away, is not enough); has_proper_latrine an own
    goose-neck latrine with septic tank/IPAL (*layak sendiri* or *aman*); null when unknown.
#}

with dtsen as (

    select * from {{ ref('stg_dtsen__households') }}

),

codes as (

    select * from {{ ref('ref_regsosek_codes') }}

),

materials as (

    select * from {{ ref('ref_housing_materials') }}

),

links as (

    select * from {{ ref('int_household_links') }} where household_key is not null

),

surveys as (

    select distinct on (links.household_key)
        links.household_key,
        surveys.surveyed_on,
        surveys.water_ladder,
        surveys.sanitation_ladder,
        surveys.is_uninhabitable
    from {{ ref('stg_pupr__household_surveys') }} as surveys
    inner join links on links.record_source = 'pupr_survey' and links.record_id = surveys.survey_id
    order by links.household_key, surveys.surveyed_on desc, surveys.updated_at desc

),

bkkbn as (

    select distinct on (links.household_key)
        links.household_key,
        families.kk_key,
        families.surveyed_on,
        families.improved_water,
        families.proper_latrine,
        families.uninhabitable_house,
        families.at_risk_of_stunting,
        families.too_young,
        families.too_old,
        families.too_close,
        families.too_many
    from {{ ref('stg_bkkbn__families') }} as families
    inner join links on links.record_source = 'bkkbn' and links.record_id = families.family_record_key
    order by links.household_key, families.surveyed_on desc, families.batch_id desc

),

programmes as (

    select
        dtsen.household_key,
        bool_or(programmes.programme = 'PKH') as receives_pkh,
        bool_or(programmes.programme = 'BPNT') as receives_sembako
    from {{ ref('stg_dtsen__programmes') }} as programmes
    inner join dtsen on dtsen.household_id = programmes.household_id
    cross join (
        select max(programme_month) as latest_month from {{ ref('stg_dtsen__programmes') }}
    ) as latest
    where programmes.programme_month > latest.latest_month - interval '3 months'
    group by dtsen.household_key

),

member_attributes as (

    select * from {{ ref('int_household_member_attributes') }}

),

dtsen_codes as (

    select
        dtsen.household_key,
        dtsen.kk_key,
        dtsen.kelurahan_code,
        dtsen.kelurahan_name_normalised,
        dtsen.desil,
        dtsen.updated_at::date as dtsen_updated_on,
        {{ regsosek_water_ladder('water.water_ladder') }} as water_ladder,
        {{ regsosek_sanitation_ladder('facility.facility_sharing', 'toilet.is_goose_neck', 'disposal.is_safe_disposal') }}
            as sanitation_ladder,
        floor_type.is_earth_floor,
        dtsen.floor_area_m2 / nullif(dtsen.members_count, 0) < 7.2 as is_crowded,
        not floor_material.is_durable_material or not wall.is_durable_material or not roof.is_durable_material
            as has_unsafe_structure
    from dtsen
    left join codes as water on water.question = 'b306a_air_minum' and water.code = dtsen.drinking_water_code
    left join codes as facility on facility.question = 'b309a_fasilitas_bab' and facility.code = dtsen.defecation_code
    left join codes as toilet on toilet.question = 'b309b_jenis_kloset' and toilet.code = dtsen.toilet_code
    left join codes as disposal on disposal.question = 'b310_pembuangan_akhir' and disposal.code = dtsen.disposal_code
    left join codes as floor_type on floor_type.question = 'b303_lantai' and floor_type.code = dtsen.floor_code
    left join materials as floor_material
        on floor_material.question = 'b303_lantai' and floor_material.code = dtsen.floor_code
    left join materials as wall on wall.question = 'b304_dinding' and wall.code = dtsen.wall_code
    left join materials as roof on roof.question = 'b305_atap' and roof.code = dtsen.roof_code

),

dtsen_ladders as (

    -- RTLH (Permen PUPR 07/2018): unsafe structure, < 7.2 m² per person, or no proper sanitation or
    -- safe water; true when any is known to hold, false when all are known not to, else unknown
    select
        *,
        is_crowded
            or has_unsafe_structure
            or case when sanitation_ladder <> 'unknown' then sanitation_ladder not in ('aman', 'layak sendiri') end
            or case when water_ladder <> 'unknown' then water_ladder not in ('aman', 'layak dasar') end
            as is_uninhabitable
    from dtsen_codes

),

own_kk_households as (

    select household_key, min(kelurahan_code) as kelurahan_code
    from links
    -- every family a record was linked to but DTSEN does not hold: own_kk links, and KKs typed into
    -- e-PPGBM that match no DTSEN household (the family exists; its attributes may stay unknown)
    where household_key not in (select household_key from dtsen)
    group by household_key

),

household_universe as (

    select household_key, kk_key, kelurahan_code from dtsen_ladders
    union all
    select household_key, household_key, kelurahan_code from own_kk_households

),

sources_per_household as (

    select household_key, string_agg(distinct record_source, ',' order by record_source) as linked_sources
    from links
    group by household_key

),

resolved as (

    select
        universe.household_key,
        universe.kk_key,
        coalesce(universe.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        coalesce(wilayah.kecamatan_code, 'UNKNOWN') as kecamatan_code,
        dtsen_ladders.desil,
        case
            when surveys.water_ladder <> 'unknown'
                and (dtsen_ladders.household_key is null or dtsen_ladders.water_ladder = 'unknown'
                    or surveys.surveyed_on >= dtsen_ladders.dtsen_updated_on)
                then surveys.water_ladder
            when dtsen_ladders.water_ladder <> 'unknown' then dtsen_ladders.water_ladder
            else 'unknown'
        end as water_ladder,
        case
            when surveys.water_ladder <> 'unknown'
                and (dtsen_ladders.household_key is null or dtsen_ladders.water_ladder = 'unknown'
                    or surveys.surveyed_on >= dtsen_ladders.dtsen_updated_on) then 'pupr'
            when dtsen_ladders.water_ladder <> 'unknown' then 'dtsen'
            when bkkbn.improved_water is not null then 'bkkbn'
            else 'none'
        end as water_source,
        case
            when surveys.sanitation_ladder <> 'unknown'
                and (dtsen_ladders.household_key is null or dtsen_ladders.sanitation_ladder = 'unknown'
                    or surveys.surveyed_on >= dtsen_ladders.dtsen_updated_on)
                then surveys.sanitation_ladder
            when dtsen_ladders.sanitation_ladder <> 'unknown' then dtsen_ladders.sanitation_ladder
            else 'unknown'
        end as sanitation_ladder,
        case
            when surveys.sanitation_ladder <> 'unknown'
                and (dtsen_ladders.household_key is null or dtsen_ladders.sanitation_ladder = 'unknown'
                    or surveys.surveyed_on >= dtsen_ladders.dtsen_updated_on) then 'pupr'
            when dtsen_ladders.sanitation_ladder <> 'unknown' then 'dtsen'
            when bkkbn.proper_latrine is not null then 'bkkbn'
            else 'none'
        end as sanitation_source,
        case
            when surveys.is_uninhabitable is not null
                and (dtsen_ladders.household_key is null or dtsen_ladders.is_uninhabitable is null
                    or surveys.surveyed_on >= dtsen_ladders.dtsen_updated_on) then surveys.is_uninhabitable
            else coalesce(dtsen_ladders.is_uninhabitable, bkkbn.uninhabitable_house)
        end as is_uninhabitable,
        case
            when surveys.is_uninhabitable is not null
                and (dtsen_ladders.household_key is null or dtsen_ladders.is_uninhabitable is null
                    or surveys.surveyed_on >= dtsen_ladders.dtsen_updated_on) then 'pupr'
            when dtsen_ladders.is_uninhabitable is not null then 'dtsen'
            when bkkbn.uninhabitable_house is not null then 'bkkbn'
            else 'none'
        end as uninhabitable_source,
        dtsen_ladders.is_earth_floor as has_earth_floor,
        dtsen_ladders.desil between 1 and 4 as is_desil_1_4,
        coalesce(programmes.receives_pkh, false) and dtsen_ladders.household_key is not null as receives_pkh,
        coalesce(programmes.receives_sembako, false) and dtsen_ladders.household_key is not null
            as receives_sembako,
        member_attributes.has_pbi_jkn,
        member_attributes.father_occupation_sector_code,
        member_attributes.father_employment_status_code,
        member_attributes.mother_employment_status_code,
        bkkbn.at_risk_of_stunting as krs_at_risk,
        bkkbn.improved_water is false as krs_water,
        bkkbn.proper_latrine is false as krs_latrine,
        bkkbn.too_young as krs_too_young,
        bkkbn.too_old as krs_too_old,
        bkkbn.too_close as krs_too_close,
        bkkbn.too_many as krs_too_many,
        bkkbn.improved_water as bkkbn_improved_water,
        bkkbn.proper_latrine as bkkbn_proper_latrine,
        concat_ws(',',
            case when dtsen_ladders.household_key is not null then 'dtsen' end,
            sources_per_household.linked_sources
        ) as sources
    from household_universe as universe
    left join dtsen_ladders on dtsen_ladders.household_key = universe.household_key
    left join surveys on surveys.household_key = universe.household_key
    left join bkkbn on bkkbn.household_key = universe.household_key
    left join programmes on programmes.household_key = universe.household_key
    left join member_attributes on member_attributes.household_key = universe.household_key
    left join sources_per_household on sources_per_household.household_key = universe.household_key
    left join {{ ref('stg_reference__kelurahan') }} as wilayah
        on wilayah.kelurahan_code = universe.kelurahan_code

),

with_flags as (

    select
        resolved.*,
        case
            when water_ladder in ('aman', 'layak dasar') then true
            when water_ladder in ('layak terbatas', 'tidak layak', 'tidak tersedia') then false
            else bkkbn_improved_water
        end as has_improved_water,
        case
            when sanitation_ladder in ('aman', 'layak sendiri') then true
            when sanitation_ladder in ('layak bersama', 'belum layak', 'BABS') then false
            else bkkbn_proper_latrine
        end as has_proper_latrine
    from resolved

)

select
    household_key, kk_key, kelurahan_code, kecamatan_code, desil,
    water_ladder, water_source, has_improved_water,
    sanitation_ladder, sanitation_source, has_proper_latrine,
    is_uninhabitable, uninhabitable_source, has_earth_floor, is_desil_1_4,
    receives_pkh, receives_sembako, has_pbi_jkn,
    father_occupation_sector_code, father_employment_status_code, mother_employment_status_code,
    krs_at_risk, krs_water, krs_latrine, krs_too_young, krs_too_old, krs_too_close, krs_too_many,
    sources
from with_flags
