{#
    RESTRICTED (schema identity). Children under two whom the welfare registers know but e-PPGBM does
    not: the targets never weighed (docs/scorecard.md, "Targets"). Reduced to pseudonymous columns.

    - DTSEN: resident members under six at their last update. A member is the e-PPGBM child already
      followed when (1) its NIK key is an e-PPGBM child key, (2) its normalised name, birth date and
      kelurahan equal an e-PPGBM child's (normalise_person_name, as identity_name_candidates), or (3) an
      e-PPGBM child linked to the same household has the same birth date. Otherwise it is a child known
      only from DTSEN: child_key = its NIK key, else md5('dtsen-member' | member_id).
    - BKKBN: a family row with a baduta (has_baduta) and the last child's birth date. The child is known
      when its household (int_household_links) has an e-PPGBM child or a DTSEN member child born within
      31 days of that date (BKKBN's date is typed at a home visit). Otherwise child_key =
      md5('bkkbn-child' | household, else KK, key | birth date); one child per family and birth date
      whatever the number of BKKBN rows.
    kelurahan_code: the DTSEN household's / the BKKBN row's (the linked household's when known).
#}

with kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

eppgbm_children as (

    select distinct child_key, name_normalised, birth_date, kelurahan_code
    from {{ ref('identity_eppgbm_families') }}

),

eppgbm_household_children as (

    select distinct linked.household_key, eppgbm_children.birth_date
    from {{ ref('int_child_households_linked') }} as linked
    inner join eppgbm_children on eppgbm_children.child_key = linked.child_key
    where linked.household_key is not null

),

dtsen_members as (

    select
        members.member_id,
        members.nik_key,
        members.birth_date,
        {{ normalise_person_name('members.member_name') }} as name_normalised,
        households.household_key,
        coalesce(households.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from {{ ref('stg_dtsen__member_identities') }} as members
    inner join {{ ref('stg_dtsen__household_identities') }} as households
        on households.household_id = members.household_id
    inner join {{ ref('stg_dtsen__members') }} as member_updates
        on member_updates.member_id = members.member_id
    where members.is_resident
        and members.birth_date is not null
        and members.birth_date > (member_updates.updated_at::date - interval '6 years')::date

),

dtsen_only as (

    select distinct on (coalesce(dtsen_members.nik_key, md5('dtsen-member|' || dtsen_members.member_id)))
        coalesce(dtsen_members.nik_key, md5('dtsen-member|' || dtsen_members.member_id)) as child_key,
        'dtsen' as target_source,
        dtsen_members.household_key,
        dtsen_members.kelurahan_code,
        dtsen_members.birth_date
    from dtsen_members
    where not exists (
            select 1 from eppgbm_children where eppgbm_children.child_key = dtsen_members.nik_key
        )
        and not exists (
            select 1 from eppgbm_children
            where eppgbm_children.name_normalised = dtsen_members.name_normalised
                and eppgbm_children.birth_date = dtsen_members.birth_date
                and eppgbm_children.kelurahan_code = dtsen_members.kelurahan_code
        )
        and not exists (
            select 1 from eppgbm_household_children
            where eppgbm_household_children.household_key = dtsen_members.household_key
                and eppgbm_household_children.birth_date = dtsen_members.birth_date
        )
    order by coalesce(dtsen_members.nik_key, md5('dtsen-member|' || dtsen_members.member_id)),
        dtsen_members.member_id

),

bkkbn_babies as (

    select distinct
        coalesce(links.household_key, families.kk_key, families.family_record_key) as family_key,
        links.household_key,
        coalesce(links.kelurahan_code, families.kelurahan_code, kelurahan_names.kelurahan_code, 'UNKNOWN')
            as kelurahan_code,
        families.last_child_birth_date as birth_date
    from {{ ref('stg_bkkbn__families') }} as families
    left join {{ ref('int_household_links') }} as links
        on links.record_source = 'bkkbn' and links.record_id = families.family_record_key
    left join kelurahan_names
        on kelurahan_names.name_normalised = families.kelurahan_name_normalised
    where families.has_baduta
        and families.last_child_birth_date is not null

),

bkkbn_only as (

    select distinct on (bkkbn_babies.family_key, bkkbn_babies.birth_date)
        md5('bkkbn-child|' || bkkbn_babies.family_key || '|' || bkkbn_babies.birth_date::text) as child_key,
        'bkkbn' as target_source,
        bkkbn_babies.household_key,
        bkkbn_babies.kelurahan_code,
        bkkbn_babies.birth_date
    from bkkbn_babies
    where not exists (
            select 1 from eppgbm_household_children as known
            where known.household_key = bkkbn_babies.household_key
                and abs(known.birth_date - bkkbn_babies.birth_date) <= 31
        )
        and not exists (
            select 1 from dtsen_members as known
            where known.household_key = bkkbn_babies.household_key
                and abs(known.birth_date - bkkbn_babies.birth_date) <= 31
        )
    order by bkkbn_babies.family_key, bkkbn_babies.birth_date, bkkbn_babies.kelurahan_code

)

select * from dtsen_only
union all
select * from bkkbn_only
