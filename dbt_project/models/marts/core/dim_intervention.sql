{# The intervention catalogue (seed ref_interventions): every service code, PUPR project type and DTSEN programme. #}

select
    intervention_code,
    name,
    intervention_type,
    sector,
    responsible_agency,
    target_group,
    nullif(scorecard_indicator, '') as scorecard_indicator,
    source_system,
    source_code
from {{ ref('ref_interventions') }}
