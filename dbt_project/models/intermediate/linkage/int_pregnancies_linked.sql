{#
    One row per pregnancy with its household (int_household_links) and the mother's key: her NIK key,
    or, without a valid NIK, a key derived from the pregnancy id (so each such woman is one mother).
#}

with pregnancies as (

    select * from {{ ref('stg_services__pregnancies') }}

),

links as (

    select * from {{ ref('int_household_links') }}
    where record_source = 'pregnancy'

),

linked as (

    select
        {{ surrogate_key(["'pregnancy'", 'pregnancies.pregnancy_id']) }} as pregnancy_key,
        pregnancies.pregnancy_id,
        coalesce(
            pregnancies.mother_nik_key,
            {{ surrogate_key(["'mother-without-nik'", 'pregnancies.pregnancy_id']) }}
        ) as mother_key,
        links.household_key,
        links.kelurahan_code,
        pregnancies.facility_code,
        pregnancies.last_menstrual_date,
        pregnancies.expected_delivery_date,
        pregnancies.delivery_date,
        pregnancies.pregnancy_status,
        pregnancies.is_kek,
        pregnancies.is_high_risk,
        pregnancies.mother_age_at_hpht,
        links.link_method
    from pregnancies
    inner join links on links.record_id = pregnancies.pregnancy_id

)

select * from linked
