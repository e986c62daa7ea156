{#
    How well each source links, per kelurahan and for the city (kelurahan_code = 'kota'). One column
    per link method (wide format: the method list is fixed by docs/linkage.md).
    - eppgbm_children, pregnancies, bkkbn, pupr_surveys, pupr_projects: linked to a household;
    - services_children: matched to a child key; services_women: attributed to a pregnancy
      ('pregnancy_window' by the NIK, else 'name_birthdate_kelurahan');
    - dtsen: a DTSEN household counts as linked when an e-PPGBM child or a pregnancy links to it
      ('target_linked'); the others are households without a known target, not failures.
    link_rate_pct = linked / records × 100, null when there are no records.
#}

with household_links as (

    select
        case record_source
            when 'eppgbm_child' then 'eppgbm_children'
            when 'pregnancy' then 'pregnancies'
            when 'pupr_survey' then 'pupr_surveys'
            when 'pupr_project' then 'pupr_projects'
            else record_source
        end as source,
        kelurahan_code,
        link_method
    from {{ ref('int_household_links') }}

),

services as (

    select
        case when is_child_service then 'services_children' else 'services_women' end as source,
        kelurahan_code,
        case when is_child_service then child_link_method else pregnancy_link_method end as link_method
    from {{ ref('int_services_attributed') }}

),

dtsen as (

    select
        'dtsen' as source,
        coalesce(households.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        case
            when exists (
                select 1 from {{ ref('int_household_links') }} as links
                where links.household_key = households.household_key
                    and links.record_source in ('eppgbm_child', 'pregnancy')
            ) then 'target_linked'
            else 'unlinked'
        end as link_method
    from {{ ref('stg_dtsen__households') }} as households

),

outcomes as (

    select * from household_links
    union all
    select * from services
    union all
    select * from dtsen

),

rates as (

    select
        source,
        coalesce(kelurahan_code, {{ city_level() }}) as kelurahan_code,
        count(*)::integer as records,
        count(*) filter (where link_method not in ('ambiguous', 'unlinked'))::integer as linked,
        count(*) filter (where link_method = 'nik')::integer as linked_by_nik,
        count(*) filter (where link_method = 'kk')::integer as linked_by_kk,
        count(*) filter (where link_method = 'eppgbm_kk')::integer as linked_by_eppgbm_kk,
        count(*) filter (where link_method = 'mother_nik')::integer as linked_by_mother_nik,
        count(*) filter (where link_method = 'wife_nik')::integer as linked_by_wife_nik,
        count(*) filter (where link_method = 'name_birthdate_kelurahan')::integer
            as linked_by_name_birthdate_kelurahan,
        count(*) filter (where link_method = 'address_rt_rw_kelurahan')::integer
            as linked_by_address_rt_rw_kelurahan,
        count(*) filter (where link_method = 'address_own_kk')::integer as linked_by_address_own_kk,
        count(*) filter (where link_method = 'own_kk')::integer as linked_by_own_kk,
        count(*) filter (where link_method = 'pregnancy_window')::integer as linked_by_pregnancy_window,
        count(*) filter (where link_method = 'target_linked')::integer as linked_by_target,
        count(*) filter (where link_method = 'ambiguous')::integer as ambiguous,
        count(*) filter (where link_method = 'unlinked')::integer as unlinked
    from outcomes
    group by grouping sets ((source, kelurahan_code), (source))

)

select
    *,
    round(100.0 * linked / nullif(records, 0), 1) as link_rate_pct
from rates
