{#
    Interventions delivered (fct_intervention_delivered) per recipient, intervention and month for analysts:
    deliveries and quantity summed over the month instead of one row per service day, the recipients'
    analyst HMAC keys instead of the warehouse's keys (some of which are unkeyed hashes of source ids), and
    no delivery key or source timestamp (each would single out one service record).
#}

select
    date_trunc('month', service_date)::date as service_month,
    intervention_code,
    {{ analyst_key('child_key', 'child') }} as child_key,
    {{ analyst_key('pregnancy_key', 'pregnancy') }} as pregnancy_key,
    {{ analyst_key('mother_key', 'mother') }} as mother_key,
    {{ analyst_key('household_key', 'household') }} as household_key,
    kelurahan_code,
    facility_code,
    source_system,
    count(*)::integer as deliveries,
    sum(quantity)::numeric as quantity
from {{ ref('fct_intervention_delivered') }}
group by
    date_trunc('month', service_date)::date, intervention_code, child_key, pregnancy_key, mother_key,
    household_key, kelurahan_code, facility_code, source_system
