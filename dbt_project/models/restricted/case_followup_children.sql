{#
    RESTRICTED field list: one row per stunted or at-risk child under five in the latest month
    (int_case_followup_children), with the identity the cadres need to find the family (child_identity),
    where it lives, its latest measurement, its household's risk factors and its missing interventions
    (int_case_followup_tasks, counted and listed).
#}

with followup as (

    select * from {{ ref('int_case_followup_children') }}

),

identities as (

    select * from {{ ref('child_identity') }}

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

facilities as (

    select * from {{ ref('dim_facility') }}

),

households as (

    select * from {{ ref('int_households_resolved') }}

),

missing as (

    select
        child_key,
        count(*) as missing_interventions_count,
        string_agg(intervention_name, ', ' order by task_code) as missing_interventions,
        string_agg(distinct responsible_agency, ', ') as responsible_agencies
    from {{ ref('int_case_followup_tasks') }}
    group by child_key

)

select
    followup.month::date as month,
    followup.child_key::text as child_key,
    followup.case_category::text as case_category,
    followup.followup_reasons::text as followup_reasons,
    identities.nik::text as nik,
    identities.child_name::text as child_name,
    identities.birth_date::date as birth_date,
    identities.sex::text as sex,
    followup.age_months::integer as age_months,
    identities.parent_name::text as parent_name,
    identities.address::text as address,
    coalesce(wilayah.kelurahan_code, 'UNKNOWN')::text as kelurahan_code,
    coalesce(wilayah.kelurahan_name, identities.kelurahan_name)::text as kelurahan_name,
    wilayah.kecamatan_code::text as kecamatan_code,
    wilayah.kecamatan_name::text as kecamatan_name,
    facilities.facility_name::text as posyandu_name,
    coalesce(facilities.puskesmas_key, 'UNKNOWN')::text as puskesmas_key,
    facilities.puskesmas_name::text as puskesmas_name,
    followup.last_measured_on::date as last_measured_on,
    followup.nutrition_status::text as nutrition_status,
    round(followup.latest_haz::numeric, 2)::numeric(5,2) as haz,
    round(followup.latest_whz::numeric, 2)::numeric(5,2) as whz,
    round(followup.latest_waz::numeric, 2)::numeric(5,2) as waz,
    followup.household_key::text as household_key,
    households.water_ladder::text as water_ladder,
    households.has_improved_water::boolean as has_improved_water,
    households.sanitation_ladder::text as sanitation_ladder,
    households.has_proper_latrine::boolean as has_proper_latrine,
    households.is_uninhabitable::boolean as is_rtlh,
    households.desil::integer as desil,
    households.has_pbi_jkn::boolean as household_has_pbi_jkn,
    (coalesce(households.receives_pkh, false) or coalesce(households.receives_sembako, false))::boolean
        as receives_pkh_or_sembako,
    coalesce(missing.missing_interventions_count, 0)::integer as missing_interventions_count,
    missing.missing_interventions::text as missing_interventions,
    missing.responsible_agencies::text as responsible_agencies
from followup
left join identities
    on identities.child_key = followup.child_key
left join wilayah
    on wilayah.kelurahan_code = followup.kelurahan_code
left join facilities
    on facilities.facility_key = followup.posyandu_key
left join households
    on households.household_key = followup.household_key
left join missing
    on missing.child_key = followup.child_key
