{#
    Water and latrine of every household at every evaluation point (int_convergence_periods), as the
    scorecard reads them (IBU_06/07, ANAK_06/07; docs/scorecard.md, "Household state at the cut-off"):

    - State: the snap_households version valid at the end of the cut-off day, so that a quarter that
      has been published keeps its answers when the household changes later. The evaluation point at
      data_date (the quarter judged to date) reads the current version. A cut-off before the
      snapshot's first version of the household takes that first version (the oldest state known;
      is_state_at_cutoff false), and a household that has left int_households_resolved its last one.
    - Completed public works: a PUPR project with status SELESAI, linked to the household and completed
      on or before the cut-off, gives the facility it built whatever the state says: a piped-water
      connection (PUPR_SAMBUNGAN_AIR_MINUM) safe water; a healthy latrine, an individual septic tank or
      a communal IPAL connection (PUPR_JAMBAN_SEHAT, PUPR_TANGKI_SEPTIK, PUPR_IPAL_KOMUNAL) a proper latrine.
    - has_improved_water / has_proper_latrine: true (has it), false (known to lack it) or null (unknown).
#}

with periods as (

    select distinct cutoff_date, data_date from {{ ref('int_convergence_periods') }}

),

versions as (

    select
        household_key,
        dbt_valid_from::timestamp as valid_from,
        dbt_valid_to::timestamp as valid_to,
        min(dbt_valid_from::timestamp) over (partition by household_key) as first_valid_from,
        has_improved_water,
        has_proper_latrine
    from {{ ref('snap_households') }}

),

projects as (

    select
        household_key,
        service_date as completed_on,
        intervention_code in ('PUPR_SAMBUNGAN_AIR_MINUM') as builds_water,
        intervention_code in ('PUPR_JAMBAN_SEHAT', 'PUPR_TANGKI_SEPTIK', 'PUPR_IPAL_KOMUNAL') as builds_latrine
    from {{ ref('int_interventions_delivered') }}
    where source_system = 'pupr_projects' and household_key is not null

),

versions_at_cutoff as (

    select
        versions.household_key,
        periods.cutoff_date,
        versions.has_improved_water,
        versions.has_proper_latrine,
        case
            when periods.cutoff_date = periods.data_date then versions.valid_to is null
            else versions.valid_from <= (periods.cutoff_date + 1)::timestamp
                and coalesce(versions.valid_to, 'infinity'::timestamp) > (periods.cutoff_date + 1)::timestamp
        end as is_state_at_cutoff,
        row_number() over (
            partition by versions.household_key, periods.cutoff_date
            order by
                case
                    when periods.cutoff_date = periods.data_date then versions.valid_to is null
                    else versions.valid_from <= (periods.cutoff_date + 1)::timestamp
                        and coalesce(versions.valid_to, 'infinity'::timestamp) > (periods.cutoff_date + 1)::timestamp
                end desc,
                case
                    when periods.cutoff_date <> periods.data_date
                        and versions.first_valid_from > (periods.cutoff_date + 1)::timestamp
                        then versions.valid_from
                end asc nulls last,
                versions.valid_from desc
        ) as version_rank
    from versions
    cross join periods

),

project_evidence as (

    select
        projects.household_key,
        periods.cutoff_date,
        bool_or(projects.builds_water) as has_water_project,
        bool_or(projects.builds_latrine) as has_latrine_project
    from projects
    inner join periods on projects.completed_on <= periods.cutoff_date
    group by projects.household_key, periods.cutoff_date

)

select
    versions_at_cutoff.household_key,
    versions_at_cutoff.cutoff_date,
    versions_at_cutoff.is_state_at_cutoff,
    coalesce(project_evidence.has_water_project, false) as has_water_project,
    coalesce(project_evidence.has_latrine_project, false) as has_latrine_project,
    case when project_evidence.has_water_project then true else versions_at_cutoff.has_improved_water end
        as has_improved_water,
    case when project_evidence.has_latrine_project then true else versions_at_cutoff.has_proper_latrine end
        as has_proper_latrine
from versions_at_cutoff
left join project_evidence
    on project_evidence.household_key = versions_at_cutoff.household_key
    and project_evidence.cutoff_date = versions_at_cutoff.cutoff_date
where versions_at_cutoff.version_rank = 1
