{# One row per pregnancy, pseudonymous, with its mother, household and how it was linked. #}

select
    pregnancy_key,
    mother_key,
    household_key,
    kelurahan_code,
    facility_code,
    last_menstrual_date,
    expected_delivery_date,
    delivery_date,
    pregnancy_status,
    is_kek,
    is_high_risk,
    mother_age_at_hpht,
    link_method
from {{ ref('int_pregnancies_linked') }}
