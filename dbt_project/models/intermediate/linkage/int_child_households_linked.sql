{#
    One row per e-PPGBM child: its household (int_household_links) and its mother. mother_key is the
    NIK key of the mother found through the e-PPGBM parent NIK, else the NIK key of the DTSEN wife
    (relation 2) or head (relation 1, woman) of the linked household; null when none or several.
    mother_link_method says which: 'mother_nik', 'household_woman', else 'ambiguous' (several
    candidates) or 'unlinked'.
#}

with links as (

    select * from {{ ref('int_household_links') }}
    where record_source = 'eppgbm_child'

),

mother_by_parent_nik as (

    select record_id as child_key, min(target_key) as mother_key, count(distinct target_key) as candidates
    from {{ ref('identity_family_link_candidates') }}
    where record_source = 'eppgbm_child' and target_kind = 'mother'
    group by record_id

),

household_mothers as (

    select households.household_key, min(members.nik_key) as mother_key, count(distinct members.nik_key) as candidates
    from {{ ref('stg_dtsen__members') }} as members
    inner join {{ ref('stg_dtsen__households') }} as households
        on households.household_id = members.household_id
    where members.is_resident and members.sex_code = 2 and members.relation_code in (1, 2)
        and members.nik_key is not null
    group by households.household_key

),

linked as (

    select
        links.record_id as child_key,
        links.household_key,
        coalesce(
            case when mother_by_parent_nik.candidates = 1 then mother_by_parent_nik.mother_key end,
            case when household_mothers.candidates = 1 then household_mothers.mother_key end
        ) as mother_key,
        case
            when mother_by_parent_nik.candidates = 1 then 'mother_nik'
            when household_mothers.candidates = 1 then 'household_woman'
            when mother_by_parent_nik.candidates > 1 or household_mothers.candidates > 1 then 'ambiguous'
            else 'unlinked'
        end as mother_link_method,
        links.link_method,
        links.kelurahan_code
    from links
    left join mother_by_parent_nik on mother_by_parent_nik.child_key = links.record_id
    left join household_mothers on household_mothers.household_key = links.household_key

)

select * from linked
