{#
    The one definition of health insurance (JKN) for a person, used by the scorecard (IBU_08, ANAK_09),
    the risk-factor profile and the situation analysis (docs/scorecard.md, "Health insurance"): a person
    has JKN when the person's own DTSEN member record (nik_key) has 431a coded as JKN in
    ref_regsosek_codes (has_jkn: 1 PBI-JKN, 2 mandiri, 4 via employer), or when a JKN service is recorded
    for the person (child_key, else mother_key). One row per person key with has_dtsen_jkn (null when
    the record gives no code) and the first JKN service date. A household member's insurance is not the
    person's: the household's PBI-JKN flag (int_household_member_attributes) is the aid-targeting
    attribute, not this.
#}

with insurance_codes as (

    select code, has_jkn
    from {{ ref('ref_regsosek_codes') }}
    where question = 'b431a_jaminan_kesehatan'

),

dtsen_persons as (

    select
        members.nik_key as person_key,
        bool_or(insurance_codes.has_jkn) as has_dtsen_jkn
    from {{ ref('stg_dtsen__members') }} as members
    left join insurance_codes
        on insurance_codes.code = members.health_insurance_code
    where members.nik_key is not null
    group by members.nik_key

),

jkn_services as (

    select
        coalesce(child_key, mother_key) as person_key,
        min(service_date) as first_jkn_service_on
    from {{ ref('int_services_attributed') }}
    where intervention_code = 'JKN' and coalesce(child_key, mother_key) is not null
    group by coalesce(child_key, mother_key)

)

select
    coalesce(dtsen_persons.person_key, jkn_services.person_key) as person_key,
    dtsen_persons.has_dtsen_jkn,
    jkn_services.first_jkn_service_on
from dtsen_persons
full outer join jkn_services
    on jkn_services.person_key = dtsen_persons.person_key
