{#
    The missing interventions of every child in int_case_followup_children, one row per child and task:
      - scorecard: each indicator the child answers T or TD (unknown: the team finds out) in the current
        quarter to date (the latest
        evaluation point of int_child_indicators_quarterly), with the indicator's wording and agency;
        an indicator without data (none of its sources configured) is no task: nothing says it is missing;
      - household (sensitive) needs of the child's linked household, when known to be lacking and not
        already a scorecard task for the same need: safe water (ANAK_06), a proper latrine (ANAK_07),
        PBI-JKN for desil 1–4 (ANAK_09), PKH or Sembako for desil 1–4, house rehabilitation for a
        house not fit to live in (RTLH). An unknown attribute is no task here: the scorecard already
        answers TD (a task) for it where it applies. A need covered by an indicator is met by that indicator's
        interventions (int_scorecard_indicator_interventions).
    due_since: one-off indicators from the age they are expected by (immunisation: first birthday;
    birth certificate: 60 days); other scorecard indicators from the quarter's first day or the age the
    indicator starts applying, whichever is later; household needs from the child's birth.
    last_received_on: the latest delivery of a matching intervention on or before the cut-off
    (services and PUPR projects of int_interventions_delivered; weighings and lengths from
    int_measurements_located), null when never.
#}

with latest_period as (

    select quarter_start, cutoff_date
    from {{ ref('int_convergence_periods') }}
    order by month_start desc
    limit 1

),

followup_children as (

    select
        followup.child_key,
        followup.household_key,
        children.birth_date
    from {{ ref('int_case_followup_children') }} as followup
    inner join {{ ref('int_convergence_children') }} as children
        on children.child_key = followup.child_key

),

indicators as (

    select * from {{ ref('int_convergence_indicators') }}

),

households as (

    select * from {{ ref('int_households_resolved') }}

),

scorecard_tasks as (

    select
        followup_children.child_key,
        answers.indicator_code as task_code,
        'scorecard' as task_source,
        indicators.indicator_name as intervention_name,
        indicators.responsible_agency,
        indicators.intervention_type,
        case answers.indicator_code
            when 'ANAK_01' then (followup_children.birth_date + interval '12 months')::date
            when 'ANAK_08' then followup_children.birth_date + 60
            when 'ANAK_03' then greatest(latest_period.quarter_start, (followup_children.birth_date + interval '6 months')::date)
            when 'ANAK_10' then greatest(latest_period.quarter_start, (followup_children.birth_date + interval '6 months')::date)
            when 'PAUD_01' then greatest(latest_period.quarter_start, (followup_children.birth_date + interval '24 months')::date)
            else greatest(latest_period.quarter_start, followup_children.birth_date)
        end as due_since
    from followup_children
    cross join latest_period
    inner join {{ ref('int_child_indicators_quarterly') }} as answers
        on answers.child_key = followup_children.child_key
        and answers.cutoff_date = latest_period.cutoff_date
        and answers.answer in ('T', 'TD')
    inner join indicators
        on indicators.indicator_code = answers.indicator_code
        and indicators.has_data

),

household_needs (task_code, covering_indicator_code, intervention_name, responsible_agency) as (

    values
        ('RT_AIR_MINUM', 'ANAK_06', 'Akses air minum layak dan aman bagi rumah tangga', 'DPUPR'),
        ('RT_JAMBAN', 'ANAK_07', 'Jamban keluarga layak (leher angsa dengan tangki septik/IPAL)', 'DPUPR'),
        ('RT_PBI_JKN', 'ANAK_09', 'Kepesertaan PBI-JKN bagi keluarga desil 1-4', 'Dinas Sosial-P2KB'),
        ('RT_BANSOS', null, 'Bantuan sosial PKH atau Sembako bagi keluarga desil 1-4', 'Dinas Sosial-P2KB'),
        ('RT_BEDAH_RUMAH', null, 'Rehabilitasi rumah tidak layak huni (bedah rumah)', 'Dinas Perkim')

),

household_lacks as (

    select
        followup_children.child_key,
        followup_children.birth_date,
        lacking.task_code
    from followup_children
    inner join households
        on households.household_key = followup_children.household_key
    cross join lateral (
        values
            ('RT_AIR_MINUM', households.has_improved_water is false),
            ('RT_JAMBAN', households.has_proper_latrine is false),
            ('RT_PBI_JKN', households.is_desil_1_4 and households.has_pbi_jkn is not true),
            ('RT_BANSOS', households.is_desil_1_4
                and not (coalesce(households.receives_pkh, false) or coalesce(households.receives_sembako, false))),
            ('RT_BEDAH_RUMAH', households.is_uninhabitable is true)
    ) as lacking (task_code, is_lacking)
    where lacking.is_lacking

),

household_tasks as (

    select
        household_lacks.child_key,
        household_lacks.task_code,
        'rumah_tangga' as task_source,
        household_needs.intervention_name,
        household_needs.responsible_agency,
        'sensitif' as intervention_type,
        household_lacks.birth_date as due_since
    from household_lacks
    inner join household_needs
        on household_needs.task_code = household_lacks.task_code
    where not exists (
        select 1
        from scorecard_tasks
        where scorecard_tasks.child_key = household_lacks.child_key
            and scorecard_tasks.task_code = household_needs.covering_indicator_code
    )

),

all_tasks as (

    select * from scorecard_tasks
    union all
    select * from household_tasks

),

scorecard_interventions as (

    select indicator_code, intervention_code, matched_by
    from {{ ref('int_scorecard_indicator_interventions') }}

),

uncovered_need_interventions (task_code, intervention_code, matched_by) as (

    values
        ('RT_BANSOS', 'DTSEN_PKH', 'household'),
        ('RT_BANSOS', 'DTSEN_BPNT', 'household'),
        ('RT_BEDAH_RUMAH', 'PUPR_BEDAH_RUMAH', 'household')

),

task_interventions as (

    select indicator_code as task_code, intervention_code, matched_by
    from scorecard_interventions
    union all
    select household_needs.task_code, scorecard_interventions.intervention_code, scorecard_interventions.matched_by
    from household_needs
    inner join scorecard_interventions
        on scorecard_interventions.indicator_code = household_needs.covering_indicator_code
    union all
    select task_code, intervention_code, matched_by
    from uncovered_need_interventions

),

deliveries as (

    select intervention_code, service_date, child_key, household_key
    from {{ ref('int_interventions_delivered') }}

),

received as (

    select
        all_tasks.child_key,
        all_tasks.task_code,
        max(deliveries.service_date) as last_received_on
    from all_tasks
    inner join task_interventions
        on task_interventions.task_code = all_tasks.task_code
        and task_interventions.matched_by = 'child'
    inner join deliveries
        on deliveries.intervention_code = task_interventions.intervention_code
        and deliveries.child_key = all_tasks.child_key
    cross join latest_period
    where deliveries.service_date <= latest_period.cutoff_date
    group by all_tasks.child_key, all_tasks.task_code
    union all
    select
        all_tasks.child_key,
        all_tasks.task_code,
        max(deliveries.service_date)
    from all_tasks
    inner join followup_children
        on followup_children.child_key = all_tasks.child_key
    inner join task_interventions
        on task_interventions.task_code = all_tasks.task_code
        and task_interventions.matched_by = 'household'
    inner join deliveries
        on deliveries.intervention_code = task_interventions.intervention_code
        and deliveries.household_key = followup_children.household_key
    cross join latest_period
    where deliveries.service_date <= latest_period.cutoff_date
    group by all_tasks.child_key, all_tasks.task_code
    union all
    select
        all_tasks.child_key,
        all_tasks.task_code,
        max(anthropometry.measured_on)
    from all_tasks
    inner join {{ ref('int_measurements_located') }} as anthropometry
        on anthropometry.child_key = all_tasks.child_key
        and case all_tasks.task_code
            when 'ANAK_02' then anthropometry.weight_kg is not null
            when 'ANAK_03' then anthropometry.height_cm is not null
            else false
        end
    cross join latest_period
    where anthropometry.measured_on <= latest_period.cutoff_date
    group by all_tasks.child_key, all_tasks.task_code

)

select
    all_tasks.child_key,
    all_tasks.task_code,
    all_tasks.task_source,
    all_tasks.intervention_name,
    all_tasks.responsible_agency,
    all_tasks.intervention_type,
    all_tasks.due_since,
    received.last_received_on
from all_tasks
left join received
    on received.child_key = all_tasks.child_key
    and received.task_code = all_tasks.task_code
