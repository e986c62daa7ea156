{#
    RESTRICTED (schema identity). The linkage fallbacks that need personal text, reduced to keys.
    Reads the plain KK and NIK numbers of e-PPGBM (identity_eppgbm_families) and of the restricted
    staging views (stg_*__*_identities, schema identity) and returns only pseudonymous candidates:
    one row per (record, candidate, method). Ambiguity is not resolved here: int_* linkage models
    count the candidates and never force a choice among several.

    record_source / record_id            → target_kind / target_key, link_method
    eppgbm_child  / child_key            → kk        / kk_key        eppgbm_kk (plain KK of e-PPGBM translated to its key)
                                         → mother    / nik_key       mother_nik (parent NIK translated to its key)
    pregnancy     / pregnancy_id         → kk        / kk_key        eppgbm_kk (KK of the e-PPGBM rows whose parent
                                                                     NIK is the mother's NIK)
    and, unchanged, the name + birth date + kelurahan candidates (identity_name_candidates) and the
    address + RT + RW + kelurahan candidates (identity_address_candidates).

    e-PPGBM has no parent NIK key: its plain parent NIK is translated through the same NIK seen in the
    other raw tables, which carry their keyed pseudonyms.
#}

with eppgbm_families as (

    select child_key, parent_nik, kk_key from {{ ref('identity_eppgbm_families') }}

),

nik_keys as (

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
        child_key as record_id,
        'kk' as target_kind,
        kk_key as target_key,
        'eppgbm_kk' as link_method
    from eppgbm_families
    where kk_key is not null

),

eppgbm_mother_candidates as (

    select distinct
        'eppgbm_child' as record_source,
        eppgbm_families.child_key as record_id,
        'mother' as target_kind,
        nik_keys.nik_key as target_key,
        'mother_nik' as link_method
    from eppgbm_families
    inner join nik_keys on nik_keys.nik = eppgbm_families.parent_nik

),

pregnancy_eppgbm_kk_candidates as (

    select distinct
        'pregnancy' as record_source,
        pregnancies.pregnancy_id as record_id,
        'kk' as target_kind,
        eppgbm_families.kk_key as target_key,
        'eppgbm_kk' as link_method
    from {{ ref('stg_services__pregnancy_identities') }} as pregnancies
    inner join eppgbm_families on eppgbm_families.parent_nik = pregnancies.mother_nik
    where eppgbm_families.kk_key is not null

),

candidates as (

    select * from eppgbm_kk_candidates
    union all
    select * from eppgbm_mother_candidates
    union all
    select * from pregnancy_eppgbm_kk_candidates
    union all
    select * from {{ ref('identity_name_candidates') }}
    union all
    select * from {{ ref('identity_address_candidates') }}

)

select * from candidates
