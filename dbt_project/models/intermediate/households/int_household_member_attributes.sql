{#
    What the resident DTSEN members say of their household, one row per DTSEN household: whether a
    member is insured through PBI-JKN (Regsosek 431a via ref_regsosek_codes), and the occupation sector
    and employment status of the father and the mother of the household's young children.

    The parents are those of the e-PPGBM children linked to the household (int_child_households_linked),
    not the head of household: in a three-generation home the head and spouse are the grandparents.
    The mother is the resident member whose NIK key is the children's mother_key (the one with most
    linked children, then the lowest member id); the father is the resident man of her couple by the
    relation codes (409): her husband is the head or spouse when she is head or spouse (1, 2), the
    son-in-law (4) when she is the head's daughter (3), the head's son (3) when she is the
    daughter-in-law (4); several such men, or another relation, leave the father unknown. A household
    with no linked child's mother among its residents falls back on the head and the spouse, by sex.
#}

with dtsen as (

    select household_id, household_key from {{ ref('stg_dtsen__households') }}

),

members as (

    select * from {{ ref('stg_dtsen__members') }} where is_resident

),

codes as (

    select * from {{ ref('ref_regsosek_codes') }}

),

child_mothers as (

    select household_key, mother_key, count(*) as linked_children
    from {{ ref('int_child_households_linked') }}
    where household_key is not null and mother_key is not null
    group by household_key, mother_key

),

household_mothers as (

    select distinct on (dtsen.household_key)
        dtsen.household_key,
        members.member_id,
        members.relation_code,
        members.employment_status_code
    from child_mothers
    inner join dtsen on dtsen.household_key = child_mothers.household_key
    inner join members
        on members.household_id = dtsen.household_id
        and members.nik_key = child_mothers.mother_key
    order by dtsen.household_key, child_mothers.linked_children desc, members.member_id

),

household_fathers as (

    select
        household_mothers.household_key,
        (array_agg(members.occupation_sector_code order by members.member_id))[1] as occupation_sector_code,
        (array_agg(members.employment_status_code order by members.member_id))[1] as employment_status_code,
        count(*) as candidates
    from household_mothers
    inner join dtsen on dtsen.household_key = household_mothers.household_key
    inner join members
        on members.household_id = dtsen.household_id
        and members.sex_code = 1
        and members.member_id <> household_mothers.member_id
        and (
            (household_mothers.relation_code in (1, 2) and members.relation_code in (1, 2))
            or (household_mothers.relation_code = 3 and members.relation_code = 4)
            or (household_mothers.relation_code = 4 and members.relation_code = 3)
        )
    group by household_mothers.household_key

),

head_couples as (

    select
        dtsen.household_key,
        bool_or(insurance.is_pbi_jkn) as has_pbi_jkn,
        (array_agg(members.occupation_sector_code order by members.relation_code, members.member_id)
            filter (where members.sex_code = 1 and members.relation_code in (1, 2)))[1]
            as head_man_occupation_sector_code,
        (array_agg(members.employment_status_code order by members.relation_code, members.member_id)
            filter (where members.sex_code = 1 and members.relation_code in (1, 2)))[1]
            as head_man_employment_status_code,
        (array_agg(members.employment_status_code order by members.relation_code, members.member_id)
            filter (where members.sex_code = 2 and members.relation_code in (1, 2)))[1]
            as head_woman_employment_status_code
    from members
    inner join dtsen on dtsen.household_id = members.household_id
    left join codes as insurance
        on insurance.question = 'b431a_jaminan_kesehatan' and insurance.code = members.health_insurance_code
    group by dtsen.household_key

),

member_attributes as (

    select
        head_couples.household_key,
        head_couples.has_pbi_jkn,
        case
            when household_mothers.household_key is null then head_couples.head_man_occupation_sector_code
            when household_fathers.candidates = 1 then household_fathers.occupation_sector_code
        end as father_occupation_sector_code,
        case
            when household_mothers.household_key is null then head_couples.head_man_employment_status_code
            when household_fathers.candidates = 1 then household_fathers.employment_status_code
        end as father_employment_status_code,
        case
            when household_mothers.household_key is null then head_couples.head_woman_employment_status_code
            else household_mothers.employment_status_code
        end as mother_employment_status_code
    from head_couples
    left join household_mothers on household_mothers.household_key = head_couples.household_key
    left join household_fathers on household_fathers.household_key = head_couples.household_key

)

select * from member_attributes
