{# One row per child under five and evaluated month with nutrition status and scorecard answers: int_child_monthly, published. #}

select
    child_key,
    month,
    household_key,
    kelurahan_code,
    age_months,
    age_band,
    nutrition_status,
    last_measured_on,
    is_stunted,
    is_wasted,
    is_underweight,
    measured_in_month,
    {% for number in range(1, 11) %}
    ind_anak_{{ "%02d" % number }},
    {% endfor %}
    ind_paud
from {{ ref('int_child_monthly') }}
