{#
    Which interventions are evidence for which scorecard indicator: one row per indicator and
    intervention, from the seed ref_scorecard_indicators (the one place that says so). matched_by says
    how a delivery reaches a child: its own record (services) or its household's (PUPR projects, DTSEN
    programmes). form_code is the indicator's code on the scorecard form (target group and number,
    e.g. ibu_hamil_1), the code dim_intervention publishes.
#}

with indicators as (

    select * from {{ ref('ref_scorecard_indicators') }}

),

interventions as (

    select * from {{ ref('ref_interventions') }}

),

indicator_interventions as (

    select
        indicators.indicator_code,
        indicators.target_group || '_' || indicators.indicator_number as form_code,
        case indicators.target_group when 'ibu_hamil' then 1 when 'anak_0_23' then 2 else 3 end
            as target_group_position,
        indicators.indicator_number,
        evidence.intervention_code
    from indicators
    cross join lateral unnest(string_to_array(indicators.intervention_codes, ' ')) as evidence (intervention_code)

)

select
    indicator_interventions.indicator_code::text as indicator_code,
    indicator_interventions.form_code::text as form_code,
    indicator_interventions.target_group_position::integer as target_group_position,
    indicator_interventions.indicator_number::integer as indicator_number,
    indicator_interventions.intervention_code::text as intervention_code,
    interventions.source_system::text as source_system,
    (case when interventions.source_system in ('pupr_projects', 'dtsen') then 'household' else 'child' end)::text
        as matched_by
from indicator_interventions
left join interventions
    on interventions.intervention_code = indicator_interventions.intervention_code
