{#
    One row per service that is not voided (BATAL excluded), attributed to its person:
    - children's services: the child's NIK key (a child's key is its NIK key, also for newborns
      e-PPGBM does not know yet), else the
      e-PPGBM child with the same normalised name, birth date and kelurahan when exactly one matches;
      child_link_method says which ('nik', 'name_birthdate_kelurahan', 'ambiguous', 'unlinked');
    - women's services: the pregnancy of the same mother (NIK key) whose window
      [HPHT, delivery (or expected delivery) + 42 days] contains the service date; the latest HPHT
      wins if windows overlap.
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
        pregnancy_matches.pregnancy_key,
        case
            when services.is_child_service then coalesce(services.mother_nik_key, child_household.mother_key)
            else coalesce(pregnancy_matches.mother_key, services.nik_key)
        end as mother_key,
        coalesce(child_household.household_key, pregnancy_matches.household_key) as household_key,
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
    left join pregnancy_matches
        on pregnancy_matches.service_id = services.service_id
    left join kelurahan_names
        on kelurahan_names.name_normalised = services.kelurahan_name_normalised

)

select * from attributed
