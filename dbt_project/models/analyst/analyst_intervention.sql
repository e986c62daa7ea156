{# The interventions of the convergence catalogue (dim_intervention). #}

select
    intervention_code,
    name,
    intervention_type,
    sector,
    responsible_agency,
    target_group,
    scorecard_indicator,
    source_system,
    source_code
from {{ ref('dim_intervention') }}
