{# Convergence scorecard levels per wilayah and quarter (mart_convergence_scorecard), unsuppressed; the quarter, not its cut-off day. #}

select
    wilayah_level,
    wilayah_code,
    wilayah_name,
    kecamatan_code,
    quarter,
    quarter_start,
    is_partial_quarter,
    women_targets,
    women_y,
    women_ts,
    women_due,
    women_level,
    children_0_23_targets,
    children_2_6_targets,
    children_y,
    children_ts,
    children_due,
    children_level,
    combined_due,
    combined_level,
    women_indicators_without_data,
    children_indicators_without_data
from {{ ref('mart_convergence_scorecard') }}
