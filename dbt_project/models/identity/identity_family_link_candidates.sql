{#
    RESTRICTED (schema identity). The linkage fallbacks that need personal text, reduced to keys.
    Reads names, birth dates, addresses, RT/RW, plain KK and NIK numbers from the restricted staging
    views (stg_*__*_identities, schema identity) and returns only pseudonymous candidates: one row per (record, candidate, method). Ambiguity is not resolved here:
    int_* linkage models count the candidates and never force a choice among several.

    record_source / record_id            → target_kind / target_key, link_method
    eppgbm_child  / child_key            → kk        / kk_key        eppgbm_kk (plain KK of e-PPGBM translated to its key)
                                         → mother    / nik_key       mother_nik (parent NIK translated to its key)
                                         → household / household_key name_birthdate_kelurahan (DTSEN member)
    service_child / service_id           → child     / child_key     name_birthdate_kelurahan (e-PPGBM child)
    service_woman / service_id           → pregnancy / pregnancy_id  name_birthdate_kelurahan (the pregnancy's mother)
    pregnancy     / pregnancy_id         → kk        / kk_key        eppgbm_kk (KK of the e-PPGBM rows whose parent
                                                                     NIK is the mother's NIK)
                                         → household / household_key name_birthdate_kelurahan (DTSEN woman)
                                         → household / household_key address_rt_rw_kelurahan (with a resident
                                                                     woman born on the mother's birth date)
    pupr_survey, pupr_project / id       → household / household_key address_rt_rw_kelurahan
    pregnancy, pupr_* without a KK       → kk        / kk_key        address_own_kk (address of an e-PPGBM family)

    Plain identifiers of e-PPGBM (which has no KK key and no parent NIK key) are translated to keys
    through the same identifiers seen in the other raw tables, which carry their keyed pseudonyms.
#}

with kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

eppgbm_rows as (

    select
        coalesce(measurements.child_nik_key, children.child_key_without_nik) as child_key,
        measurements.child_name,
        measurements.birth_date,
        measurements.kelurahan_name,
        measurements.kk_number,
        measurements.parent_nik,
        measurements.address,
        measurements.rt,
        measurements.rw,
        measurements.measured_on,
        measurements.batch_id,
        measurements.source_row
    from {{ ref('stg_eppgbm__family_identities') }} as measurements
    inner join {{ ref('int_children_resolved') }} as children
        on children.child_person_key = measurements.child_person_key

),

kk_lookup as (

    select kk_number, kk_key from {{ ref('stg_dtsen__household_identities') }} where kk_key is not null
    union
    select kk_number, kk_key from {{ ref('stg_bkkbn__family_identities') }} where kk_key is not null
    union
    select kk_number, kk_key from {{ ref('stg_services__pregnancy_identities') }} where kk_key is not null
    union
    select kk_number, kk_key from {{ ref('stg_services__service_identities') }} where kk_key is not null
    union
    select kk_number, kk_key from {{ ref('stg_pupr__survey_identities') }} where kk_key is not null
    union
    select kk_number, kk_key from {{ ref('stg_pupr__project_identities') }} where kk_key is not null

),

nik_lookup as (

    select nik, nik_key from {{ ref('stg_dtsen__member_identities') }} where nik_key is not null
    union
    select mother_nik, mother_nik_key from {{ ref('stg_services__pregnancy_identities') }} where mother_nik_key is not null
    union
    select wife_nik, wife_nik_key from {{ ref('stg_bkkbn__family_identities') }} where wife_nik_key is not null
    union
    select mother_nik, mother_nik_key from {{ ref('stg_services__service_identities') }} where mother_nik_key is not null

),

eppgbm_kk_candidates as (

    select distinct
        'eppgbm_child' as record_source,
        eppgbm_rows.child_key as record_id,
        'kk' as target_kind,
        kk_lookup.kk_key as target_key,
        'eppgbm_kk' as link_method
    from eppgbm_rows
    inner join kk_lookup on kk_lookup.kk_number = eppgbm_rows.kk_number

),

eppgbm_mother_candidates as (

    select distinct
        'eppgbm_child' as record_source,
        eppgbm_rows.child_key as record_id,
        'mother' as target_kind,
        nik_lookup.nik_key as target_key,
        'mother_nik' as link_method
    from eppgbm_rows
    inner join nik_lookup on nik_lookup.nik = eppgbm_rows.parent_nik

),

pregnancy_eppgbm_kk_candidates as (

    select distinct
        'pregnancy' as record_source,
        pregnancies.pregnancy_id as record_id,
        'kk' as target_kind,
        kk_lookup.kk_key as target_key,
        'eppgbm_kk' as link_method
    from {{ ref('stg_services__pregnancy_identities') }} as pregnancies
    inner join eppgbm_rows on eppgbm_rows.parent_nik = pregnancies.mother_nik
    inner join kk_lookup on kk_lookup.kk_number = eppgbm_rows.kk_number

),

dtsen_people as (

    select
        households.household_key,
        households.kelurahan_code,
        members.nik_key,
        members.sex_code,
        {{ normalise_person_name('members.member_name') }} as name_normalised,
        members.birth_date
    from {{ ref('stg_dtsen__member_identities') }} as members
    inner join {{ ref('stg_dtsen__household_identities') }} as households
        on households.household_id = members.household_id
    where members.is_resident

),

eppgbm_children as (

    select distinct
        eppgbm_rows.child_key,
        {{ normalise_person_name('eppgbm_rows.child_name') }} as name_normalised,
        eppgbm_rows.birth_date,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from eppgbm_rows
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('eppgbm_rows.kelurahan_name') }}

),

eppgbm_name_candidates as (

    select distinct
        'eppgbm_child' as record_source,
        eppgbm_children.child_key as record_id,
        'household' as target_kind,
        dtsen_people.household_key as target_key,
        'name_birthdate_kelurahan' as link_method
    from eppgbm_children
    inner join dtsen_people
        on dtsen_people.name_normalised = eppgbm_children.name_normalised
        and dtsen_people.birth_date = eppgbm_children.birth_date
        and dtsen_people.kelurahan_code = eppgbm_children.kelurahan_code

),

service_children as (

    select
        services.service_id,
        {{ normalise_person_name('services.person_name') }} as name_normalised,
        services.birth_date,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_services__service_identities') }} as services
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('services.kelurahan_name') }}
    where services.is_child_service
        and services.nik_key is null

),

service_child_candidates as (

    select distinct
        'service_child' as record_source,
        service_children.service_id as record_id,
        'child' as target_kind,
        eppgbm_children.child_key as target_key,
        'name_birthdate_kelurahan' as link_method
    from service_children
    inner join eppgbm_children
        on eppgbm_children.name_normalised = service_children.name_normalised
        and eppgbm_children.birth_date = service_children.birth_date
        and eppgbm_children.kelurahan_code = service_children.kelurahan_code

),

pregnancies as (

    select
        pregnancies.pregnancy_id,
        pregnancies.kk_key,
        {{ normalise_person_name('pregnancies.mother_name') }} as name_normalised,
        pregnancies.mother_birth_date,
        {{ normalise_address('pregnancies.address') }} as address_normalised,
        {{ normalise_rt_rw('pregnancies.rt') }} as rt,
        {{ normalise_rt_rw('pregnancies.rw') }} as rw,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_services__pregnancy_identities') }} as pregnancies
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('pregnancies.kelurahan_name') }}

),

service_women as (

    select
        services.service_id,
        {{ normalise_person_name('services.person_name') }} as name_normalised,
        services.birth_date,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_services__service_identities') }} as services
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('services.kelurahan_name') }}
    where not services.is_child_service

),

service_woman_candidates as (

    select distinct
        'service_woman' as record_source,
        service_women.service_id as record_id,
        'pregnancy' as target_kind,
        pregnancies.pregnancy_id as target_key,
        'name_birthdate_kelurahan' as link_method
    from service_women
    inner join pregnancies
        on pregnancies.name_normalised = service_women.name_normalised
        and pregnancies.mother_birth_date = service_women.birth_date
        and pregnancies.kelurahan_code = service_women.kelurahan_code

),

pregnancy_name_candidates as (

    select distinct
        'pregnancy' as record_source,
        pregnancies.pregnancy_id as record_id,
        'household' as target_kind,
        dtsen_people.household_key as target_key,
        'name_birthdate_kelurahan' as link_method
    from pregnancies
    inner join dtsen_people
        on dtsen_people.name_normalised = pregnancies.name_normalised
        and dtsen_people.birth_date = pregnancies.mother_birth_date
        and dtsen_people.kelurahan_code = pregnancies.kelurahan_code
        and coalesce(dtsen_people.sex_code, 2) = 2

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
    from pregnancies

),

address_candidates as (

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
            select 1 from dtsen_people
            where dtsen_people.household_key = dtsen_addresses.household_key
                and dtsen_people.birth_date = addressed_records.woman_birth_date
                and coalesce(dtsen_people.sex_code, 2) = 2
        )

),

eppgbm_family_addresses as (

    select distinct
        {{ normalise_address('eppgbm_rows.address') }} as address_normalised,
        {{ normalise_rt_rw('eppgbm_rows.rt') }} as rt,
        {{ normalise_rt_rw('eppgbm_rows.rw') }} as rw,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        kk_lookup.kk_key
    from eppgbm_rows
    inner join kk_lookup on kk_lookup.kk_number = eppgbm_rows.kk_number
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('eppgbm_rows.kelurahan_name') }}

),

family_address_candidates as (

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

    select * from eppgbm_kk_candidates
    union all
    select * from eppgbm_mother_candidates
    union all
    select * from pregnancy_eppgbm_kk_candidates
    union all
    select * from eppgbm_name_candidates
    union all
    select * from service_child_candidates
    union all
    select * from service_woman_candidates
    union all
    select * from pregnancy_name_candidates
    union all
    select * from address_candidates
    union all
    select * from family_address_candidates

)

select * from candidates
