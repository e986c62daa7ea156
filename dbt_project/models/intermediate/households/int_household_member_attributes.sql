{#
    What the resident DTSEN members say of their household, one row per DTSEN household: whether a
    member is insured through PBI-JKN (Regsosek 431a via ref_regsosek_codes), and the occupation sector
    and employment status of the father and the mother (head of household or spouse, by sex).
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

member_attributes as (

    select
        dtsen.household_key,
        bool_or(insurance.is_pbi_jkn) as has_pbi_jkn,
        (array_agg(members.occupation_sector_code order by members.relation_code, members.member_id)
            filter (where members.sex_code = 1 and members.relation_code in (1, 2)))[1]
            as father_occupation_sector_code,
        (array_agg(members.employment_status_code order by members.relation_code, members.member_id)
            filter (where members.sex_code = 1 and members.relation_code in (1, 2)))[1]
            as father_employment_status_code,
        (array_agg(members.employment_status_code order by members.relation_code, members.member_id)
            filter (where members.sex_code = 2 and members.relation_code in (1, 2)))[1]
            as mother_employment_status_code
    from members
    inner join dtsen on dtsen.household_id = members.household_id
    left join codes as insurance
        on insurance.question = 'b431a_jaminan_kesehatan' and insurance.code = members.health_insurance_code
    group by dtsen.household_key

)

select * from member_attributes
