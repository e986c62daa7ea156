{#
    The intervention catalogue (seed ref_interventions): every service code, PUPR project type and DTSEN
    programme. scorecard_indicator lists the scorecard-form codes of the indicators it is evidence for
    (int_scorecard_indicator_interventions), comma-separated, null when none.
#}

with interventions as (

    select * from {{ ref('ref_interventions') }}

),

evidence_for as (

    select
        intervention_code,
        string_agg(form_code, ',' order by target_group_position, indicator_number) as scorecard_indicator
    from {{ ref('int_scorecard_indicator_interventions') }}
    group by intervention_code

)

select
    interventions.intervention_code,
    interventions.name,
    interventions.intervention_type,
    interventions.sector,
    interventions.responsible_agency,
    interventions.target_group,
    evidence_for.scorecard_indicator,
    interventions.source_system,
    interventions.source_code
from interventions
left join evidence_for
    on evidence_for.intervention_code = interventions.intervention_code
