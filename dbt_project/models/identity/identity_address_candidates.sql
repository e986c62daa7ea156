{#
    RESTRICTED (schema identity). Linkage fallbacks on address + RT + RW + kelurahan, reduced to keys:
    one row per (record, candidate, method). Addresses and RT/RW are compared normalised
    (normalise_address, normalise_rt_rw), kelurahan names as resolved to their codes.

    record_source / record_id          → target_kind / target_key, link_method
    pupr_survey, pupr_project / id     → household / household_key address_rt_rw_kelurahan
    pregnancy     / pregnancy_id       → household / household_key address_rt_rw_kelurahan (with a resident
                                                                   woman born on the mother's birth date)
    pregnancy, pupr_* without a KK     → kk        / kk_key        address_own_kk (address of an e-PPGBM family)
#}

with kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

dtsen_residents as (

    select
        households.household_key,
        members.sex_code,
        members.birth_date
    from {{ ref('stg_dtsen__member_identities') }} as members
    inner join {{ ref('stg_dtsen__household_identities') }} as households
        on households.household_id = members.household_id
    where members.is_resident

),

dtsen_addresses as (

    select
        household_key,
        {{ normalise_address('address') }} as address_normalised,
        {{ normalise_rt_rw('rt') }} as rt,
        {{ normalise_rt_rw('rw') }} as rw,
        kelurahan_code
    from {{ ref('stg_dtsen__household_identities') }}

),

pupr_addresses as (

    select
        'pupr_survey' as record_source,
        surveys.survey_id as record_id,
        surveys.kk_key,
        surveys.address,
        surveys.rt,
        surveys.rw,
        surveys.kelurahan_name
    from {{ ref('stg_pupr__survey_identities') }} as surveys
    union all
    select
        'pupr_project',
        projects.project_id,
        projects.kk_key,
        projects.address,
        projects.rt,
        projects.rw,
        projects.kelurahan_name
    from {{ ref('stg_pupr__project_identities') }} as projects

),

pregnancy_addresses as (

    select
        pregnancies.pregnancy_id,
        pregnancies.kk_key,
        pregnancies.mother_birth_date,
        {{ normalise_address('pregnancies.address') }} as address_normalised,
        {{ normalise_rt_rw('pregnancies.rt') }} as rt,
        {{ normalise_rt_rw('pregnancies.rw') }} as rw,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_services__pregnancy_identities') }} as pregnancies
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('pregnancies.kelurahan_name') }}

),

addressed_records as (

    select
        pupr_addresses.record_source,
        pupr_addresses.record_id,
        pupr_addresses.kk_key,
        null::date as woman_birth_date,
        {{ normalise_address('pupr_addresses.address') }} as address_normalised,
        {{ normalise_rt_rw('pupr_addresses.rt') }} as rt,
        {{ normalise_rt_rw('pupr_addresses.rw') }} as rw,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from pupr_addresses
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('pupr_addresses.kelurahan_name') }}
    union all
    select
        'pregnancy',
        pregnancy_id,
        kk_key,
        mother_birth_date,
        address_normalised,
        rt,
        rw,
        kelurahan_code
    from pregnancy_addresses

),

household_candidates as (

    select distinct
        addressed_records.record_source,
        addressed_records.record_id,
        'household' as target_kind,
        dtsen_addresses.household_key as target_key,
        'address_rt_rw_kelurahan' as link_method
    from addressed_records
    inner join dtsen_addresses
        on dtsen_addresses.address_normalised = addressed_records.address_normalised
        and dtsen_addresses.rt = addressed_records.rt
        and dtsen_addresses.rw = addressed_records.rw
        and dtsen_addresses.kelurahan_code = addressed_records.kelurahan_code
    -- a pregnancy also needs the mother in the house: a resident woman born on her birth date
    where addressed_records.record_source <> 'pregnancy'
        or exists (
            select 1 from dtsen_residents
            where dtsen_residents.household_key = dtsen_addresses.household_key
                and dtsen_residents.birth_date = addressed_records.woman_birth_date
                and coalesce(dtsen_residents.sex_code, 2) = 2
        )

),

eppgbm_family_addresses as (

    select distinct address_normalised, rt, rw, kelurahan_code, kk_key
    from {{ ref('identity_eppgbm_families') }}
    where kk_key is not null

),

family_kk_candidates as (

    select distinct
        addressed_records.record_source,
        addressed_records.record_id,
        'kk' as target_kind,
        eppgbm_family_addresses.kk_key as target_key,
        'address_own_kk' as link_method
    from addressed_records
    inner join eppgbm_family_addresses
        on eppgbm_family_addresses.address_normalised = addressed_records.address_normalised
        and eppgbm_family_addresses.rt = addressed_records.rt
        and eppgbm_family_addresses.rw = addressed_records.rw
        and eppgbm_family_addresses.kelurahan_code = addressed_records.kelurahan_code
    where addressed_records.kk_key is null

),

candidates as (

    select * from household_candidates
    union all
    select * from family_kk_candidates

)

select * from candidates
