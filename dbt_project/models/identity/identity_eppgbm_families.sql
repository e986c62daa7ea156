{#
    RESTRICTED (schema identity). The family identifiers of the e-PPGBM children, shared by the
    linkage fallbacks (identity_name_candidates, identity_address_candidates and the KK / mother NIK
    candidates in identity_family_link_candidates): one row per child and distinct family as written,
    with the child's name, address and RT/RW normalised, the kelurahan name resolved to its code
    ('UNKNOWN' when it resolves to none) and the plain KK number translated to its key.

    e-PPGBM has no KK key: its plain KK number is translated through the same number seen in the other
    raw tables, which carry their keyed pseudonyms (kk_key is null when no other table has the number).
    The parent's NIK stays plain; identity_family_link_candidates translates it.
#}

with kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

kk_keys as (

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

measurement_families as (

    select
        coalesce(measurements.child_nik_key, children.child_key_without_nik) as child_key,
        measurements.child_name,
        measurements.birth_date,
        measurements.kelurahan_name,
        measurements.kk_number,
        measurements.parent_nik,
        measurements.address,
        measurements.rt,
        measurements.rw
    from {{ ref('stg_eppgbm__family_identities') }} as measurements
    inner join {{ ref('int_children_resolved') }} as children
        on children.child_person_key = measurements.child_person_key

),

families as (

    select distinct
        measurement_families.child_key,
        {{ normalise_person_name('measurement_families.child_name') }} as name_normalised,
        measurement_families.birth_date,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        {{ normalise_address('measurement_families.address') }} as address_normalised,
        {{ normalise_rt_rw('measurement_families.rt') }} as rt,
        {{ normalise_rt_rw('measurement_families.rw') }} as rw,
        measurement_families.parent_nik,
        kk_keys.kk_key
    from measurement_families
    left join kk_keys on kk_keys.kk_number = measurement_families.kk_number
    left join kelurahan_names
        on kelurahan_names.name_normalised = {{ normalise_kelurahan_name('measurement_families.kelurahan_name') }}

)

select * from families
