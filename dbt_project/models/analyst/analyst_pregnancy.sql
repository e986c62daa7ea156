{#
    One row per pregnancy (dim_pregnancy) for analysts: its, the mother's and the household's analyst HMAC
    keys (the warehouse's pregnancy key is an unkeyed hash of a source id), and the months of the last
    menstrual period, the expected and the actual delivery instead of the days.
#}

select
    {{ analyst_key('pregnancy_key', 'pregnancy') }} as pregnancy_key,
    {{ analyst_key('mother_key', 'mother') }} as mother_key,
    {{ analyst_key('household_key', 'household') }} as household_key,
    kelurahan_code,
    facility_code,
    date_trunc('month', last_menstrual_date)::date as last_menstrual_month,
    date_trunc('month', expected_delivery_date)::date as expected_delivery_month,
    date_trunc('month', delivery_date)::date as delivery_month,
    pregnancy_status,
    is_kek,
    is_high_risk,
    mother_age_at_hpht,
    link_method
from {{ ref('dim_pregnancy') }}
