{#
    PAUD_01 answers for children 24–71 months on the cut-off, one row per child × evaluation point
    (docs/scorecard.md): Y with a PAUD record in the quarter up to the cut-off, otherwise T. The
    scorecard's group is children of 2–6 years, all of whom are expected in PAUD: there is no TS.
#}

with periods as (

    select * from {{ ref('int_convergence_periods') }}

),

children as (

    select * from {{ ref('int_convergence_children') }}

),

services as (

    select
        child_key,
        intervention_code,
        service_date
    from {{ ref('int_services_attributed') }}
    where child_key is not null

),

preschool_targets as (

    select
        children.child_key,
        children.birth_date,
        children.household_key,
        children.kelurahan_code,
        periods.quarter,
        periods.quarter_start,
        periods.cutoff_date,
        periods.is_quarter_cutoff,
        periods.is_partial_quarter
    from periods
    inner join children
        on (children.birth_date + interval '24 months')::date <= periods.cutoff_date
        and (children.birth_date + interval '72 months')::date > periods.cutoff_date

),

preschool_records as (

    select
        preschool_targets.child_key,
        preschool_targets.cutoff_date,
        count(*) as paud_records
    from preschool_targets
    inner join services
        on services.child_key = preschool_targets.child_key
        and services.intervention_code = 'PAUD'
        and services.service_date between preschool_targets.quarter_start and preschool_targets.cutoff_date
    group by preschool_targets.child_key, preschool_targets.cutoff_date

),

preschool_answers as (

    select
        preschool_targets.child_key,
        preschool_targets.household_key,
        preschool_targets.kelurahan_code,
        preschool_targets.quarter,
        preschool_targets.quarter_start,
        preschool_targets.cutoff_date,
        preschool_targets.is_quarter_cutoff,
        preschool_targets.is_partial_quarter,
        'anak_2_6' as target_group,
        'PAUD_01' as indicator_code,
        case when preschool_records.paud_records > 0 then 'Y' else 'T' end as answer,
        coalesce(preschool_records.paud_records, 0) as evidence_count
    from preschool_targets
    left join preschool_records
        on preschool_records.child_key = preschool_targets.child_key
        and preschool_records.cutoff_date = preschool_targets.cutoff_date

)

select * from preschool_answers
