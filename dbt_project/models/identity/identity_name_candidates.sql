{#
    RESTRICTED (schema identity). Linkage fallbacks on name + birth date + kelurahan, reduced to keys:
    one row per (record, candidate). Names are compared normalised (normalise_person_name), kelurahan
    names as resolved to their codes ('UNKNOWN' when they resolve to none, which matches only 'UNKNOWN').

    record_source / record_id    → target_kind / target_key
    eppgbm_child  / child_key    → household / household_key  (a resident DTSEN member)
    service_child / service_id   → child     / child_key      (an e-PPGBM child; services without a child NIK)
    service_woman / service_id   → pregnancy / pregnancy_id   (the pregnancy's mother)
    pregnancy     / pregnancy_id → household / household_key  (a resident DTSEN woman)
#}

with kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

dtsen_residents as (

    select
        households.household_key,
        households.kelurahan_code,
        members.sex_code,
        {{ normalise_person_name('members.member_name') }} as name_normalised,
        members.birth_date
    from {{ ref('stg_dtsen__member_identities') }} as members
    inner join {{ ref('stg_dtsen__household_identities') }} as households
        on households.household_id = members.household_id
    where members.is_resident

),

eppgbm_children as (

    select distinct child_key, name_normalised, birth_date, kelurahan_code
    from {{ ref('identity_eppgbm_families') }}

),

eppgbm_child_candidates as (

    select distinct
        'eppgbm_child' as record_source,
        eppgbm_children.child_key as record_id,
        'household' as target_kind,
        dtsen_residents.household_key as target_key,
        'name_birthdate_kelurahan' as link_method
    from eppgbm_children
    inner join dtsen_residents
        on dtsen_residents.name_normalised = eppgbm_children.name_normalised
        and dtsen_residents.birth_date = eppgbm_children.birth_date
        and dtsen_residents.kelurahan_code = eppgbm_children.kelurahan_code

),

service_people as (

    select
        services.service_id,
        services.is_child_service,
        services.nik_key,
        {{ normalise_person_name('services.person_name') }} as name_normalised,
        services.birth_date,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_services__service_identities') }} as services
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('services.kelurahan_name') }}

),

service_child_candidates as (

    select distinct
        'service_child' as record_source,
        service_people.service_id as record_id,
        'child' as target_kind,
        eppgbm_children.child_key as target_key,
        'name_birthdate_kelurahan' as link_method
    from service_people
    inner join eppgbm_children
        on eppgbm_children.name_normalised = service_people.name_normalised
        and eppgbm_children.birth_date = service_people.birth_date
        and eppgbm_children.kelurahan_code = service_people.kelurahan_code
    where service_people.is_child_service
        and service_people.nik_key is null

),

pregnancy_mothers as (

    select
        pregnancies.pregnancy_id,
        {{ normalise_person_name('pregnancies.mother_name') }} as name_normalised,
        pregnancies.mother_birth_date,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_services__pregnancy_identities') }} as pregnancies
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('pregnancies.kelurahan_name') }}

),

service_woman_candidates as (

    select distinct
        'service_woman' as record_source,
        service_people.service_id as record_id,
        'pregnancy' as target_kind,
        pregnancy_mothers.pregnancy_id as target_key,
        'name_birthdate_kelurahan' as link_method
    from service_people
    inner join pregnancy_mothers
        on pregnancy_mothers.name_normalised = service_people.name_normalised
        and pregnancy_mothers.mother_birth_date = service_people.birth_date
        and pregnancy_mothers.kelurahan_code = service_people.kelurahan_code
    where not service_people.is_child_service

),

pregnancy_candidates as (

    select distinct
        'pregnancy' as record_source,
        pregnancy_mothers.pregnancy_id as record_id,
        'household' as target_kind,
        dtsen_residents.household_key as target_key,
        'name_birthdate_kelurahan' as link_method
    from pregnancy_mothers
    inner join dtsen_residents
        on dtsen_residents.name_normalised = pregnancy_mothers.name_normalised
        and dtsen_residents.birth_date = pregnancy_mothers.mother_birth_date
        and dtsen_residents.kelurahan_code = pregnancy_mothers.kelurahan_code
        and coalesce(dtsen_residents.sex_code, 2) = 2

),

candidates as (

    select * from eppgbm_child_candidates
    union all
    select * from service_child_candidates
    union all
    select * from service_woman_candidates
    union all
    select * from pregnancy_candidates

)

select * from candidates
