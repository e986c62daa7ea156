{# Risk-factor profile of stunted and not-stunted children in the latest month (mart_risk_factor_profile), unsuppressed. #}

select
    month,
    wilayah_level,
    wilayah_code,
    wilayah_name,
    kecamatan_code,
    factor_code,
    factor_number,
    factor_label,
    stunted_with,
    stunted_total,
    not_stunted_with,
    not_stunted_total,
    stunted_with_pct,
    not_stunted_with_pct,
    prevalence_ratio,
    children_assessed,
    children_factor_known,
    factor_coverage_pct
from {{ ref('mart_risk_factor_profile') }}
