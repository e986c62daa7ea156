{#
    One row per service that is not voided (BATAL excluded), attributed to its person:
    - children's services: the child's NIK key (a child's key is its NIK key, also for newborns
      e-PPGBM does not know yet), else the
      e-PPGBM child with the same normalised name, birth date and kelurahan when exactly one matches;
      child_link_method says which ('nik', 'name_birthdate_kelurahan', 'ambiguous', 'unlinked');
    - women's services: the pregnancy of the same mother (NIK key) whose window
      [HPHT, delivery (or expected delivery) + 42 days] contains the service date; the latest HPHT
      wins if windows overlap ('pregnancy_window'). Without one (no NIK on the service or on the
      pregnancy), the pregnancy whose mother has the same normalised name, birth date and kelurahan
      and whose window contains the date, when exactly one does ('name_birthdate_kelurahan'; two or
      more → 'ambiguous', none → 'unlinked'); pregnancy_link_method says which.
    The household comes from the child or the pregnancy.
#}

with services as (

    select * from {{ ref('stg_services__services') }}
    where not is_voided

),

kelurahan_names as (

    select name_normalised, kelurahan_code from {{ ref('int_kelurahan_names') }}

),

known_children as (

    select * from {{ ref('int_child_households_linked') }}

),

name_matches as (

    select record_id as service_id, min(target_key) as child_key, count(distinct target_key) as candidates
    from {{ ref('identity_family_link_candidates') }}
    where record_source = 'service_child'
    group by record_id

),

pregnancies as (

    select * from {{ ref('int_pregnancies_linked') }}

),

pregnancy_matches as (

    select distinct on (services.service_id)
        services.service_id,
        pregnancies.pregnancy_key,
        pregnancies.mother_key,
        pregnancies.household_key
    from services
    inner join pregnancies
        on pregnancies.mother_key = services.nik_key
        and services.service_date >= pregnancies.last_menstrual_date
        and services.service_date <= coalesce(pregnancies.delivery_date, pregnancies.expected_delivery_date)
            + 42
    where not services.is_child_service
    order by services.service_id, pregnancies.last_menstrual_date desc

),

pregnancy_name_matches as (

    select
        services.service_id,
        (array_agg(pregnancies.pregnancy_key order by pregnancies.last_menstrual_date desc))[1] as pregnancy_key,
        count(distinct pregnancies.mother_key) as candidates
    from services
    inner join {{ ref('identity_family_link_candidates') }} as candidates
        on candidates.record_source = 'service_woman'
        and candidates.record_id = services.service_id
    inner join pregnancies
        on pregnancies.pregnancy_id = candidates.target_key
        and services.service_date >= pregnancies.last_menstrual_date
        and services.service_date <= coalesce(pregnancies.delivery_date, pregnancies.expected_delivery_date)
            + 42
    where not services.is_child_service
    group by services.service_id

),

pregnancy_attribution as (

    select
        services.service_id,
        coalesce(
            pregnancy_matches.pregnancy_key,
            case when pregnancy_name_matches.candidates = 1 then pregnancy_name_matches.pregnancy_key end
        ) as pregnancy_key,
        case
            when pregnancy_matches.pregnancy_key is not null then 'pregnancy_window'
            when pregnancy_name_matches.candidates = 1 then 'name_birthdate_kelurahan'
            when pregnancy_name_matches.candidates > 1 then 'ambiguous'
            else 'unlinked'
        end as pregnancy_link_method
    from services
    left join pregnancy_matches on pregnancy_matches.service_id = services.service_id
    left join pregnancy_name_matches on pregnancy_name_matches.service_id = services.service_id
    where not services.is_child_service

),

attributed as (

    select
        services.service_id,
        services.intervention_code,
        services.service_date,
        services.target_type,
        case
            when not services.is_child_service then null
            when services.nik_key is not null then services.nik_key
            when name_matches.candidates = 1 then name_matches.child_key
        end as child_key,
        case
            when not services.is_child_service then null
            when services.nik_key is not null then 'nik'
            when name_matches.candidates = 1 then 'name_birthdate_kelurahan'
            when name_matches.candidates > 1 then 'ambiguous'
            else 'unlinked'
        end as child_link_method,
        pregnancy_attribution.pregnancy_key,
        pregnancy_attribution.pregnancy_link_method,
        case
            when services.is_child_service then coalesce(services.mother_nik_key, child_household.mother_key)
            else coalesce(attributed_pregnancy.mother_key, services.nik_key)
        end as mother_key,
        coalesce(child_household.household_key, attributed_pregnancy.household_key) as household_key,
        services.quantity,
        coalesce(kelurahan_names.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        services.facility_code,
        services.is_child_service,
        services.updated_at
    from services
    left join known_children as child_by_nik
        on child_by_nik.child_key = services.nik_key
    left join name_matches
        on name_matches.service_id = services.service_id
    left join known_children as child_household
        on child_household.child_key = coalesce(
            child_by_nik.child_key,
            case when name_matches.candidates = 1 then name_matches.child_key end
        )
    left join pregnancy_attribution
        on pregnancy_attribution.service_id = services.service_id
    left join pregnancies as attributed_pregnancy
        on attributed_pregnancy.pregnancy_key = pregnancy_attribution.pregnancy_key
    left join kelurahan_names
        on kelurahan_names.name_normalised = services.kelurahan_name_normalised

)

select * from attributed
