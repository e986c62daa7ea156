{#
    One intervention delivered to one person or household on one date:
    - services (not voided), attributed by int_services_attributed;
    - PUPR projects with status SELESAI, to the linked household, dated tanggal_selesai;
    - DTSEN programme receipt, one row per household, programme and month (dated the 1st).
    fct_intervention_delivered publishes these rows (incrementally, see there).
#}

with services as (

    select
        {{ surrogate_key(["'services'", 'service_id']) }} as delivery_key,
        intervention_code,
        service_date,
        child_key,
        pregnancy_key,
        mother_key,
        household_key,
        kelurahan_code,
        facility_code,
        quantity::numeric as quantity,
        'services' as source_system,
        updated_at as source_updated_at
    from {{ ref('int_services_attributed') }}

),

projects as (

    select
        {{ surrogate_key(["'pupr_projects'", 'projects.project_id']) }} as delivery_key,
        projects.intervention_code,
        projects.completed_on as service_date,
        null::text as child_key,
        null::text as pregnancy_key,
        null::text as mother_key,
        links.household_key,
        links.kelurahan_code,
        null::text as facility_code,
        1::numeric as quantity,
        'pupr_projects' as source_system,
        projects.updated_at as source_updated_at
    from {{ ref('stg_pupr__projects') }} as projects
    inner join {{ ref('int_household_links') }} as links
        on links.record_source = 'pupr_project' and links.record_id = projects.project_id
    where projects.status = 'SELESAI' and projects.completed_on is not null

),

programmes as (

    select
        {{ surrogate_key(["'dtsen'", 'programmes.household_id', 'programmes.programme', 'programmes.programme_month']) }}
            as delivery_key,
        'DTSEN_' || programmes.programme as intervention_code,
        programmes.programme_month as service_date,
        null::text as child_key,
        null::text as pregnancy_key,
        null::text as mother_key,
        households.household_key,
        coalesce(households.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        null::text as facility_code,
        1::numeric as quantity,
        'dtsen' as source_system,
        programmes.updated_at as source_updated_at
    from {{ ref('stg_dtsen__programmes') }} as programmes
    inner join {{ ref('stg_dtsen__households') }} as households
        on households.household_id = programmes.household_id

),

deliveries as (

    select * from services
    union all
    select * from projects
    union all
    select * from programmes

)

select * from deliveries
