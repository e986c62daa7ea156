{#
    One row per child and month while the child is under five (fct_child_monthly), for analysts: the
    child's and household's keys are the analyst marts' own HMAC pseudonyms (analyst_key), the latest
    measurement is given by its month, and sex and birth month come from dim_child. No day-level date.
#}

with child_months as (

    select * from {{ ref('fct_child_monthly') }}

),

children as (

    select child_key, sex, birth_month from {{ ref('dim_child') }}

)

select
    {{ analyst_key('child_months.child_key', 'child') }} as child_key,
    child_months.month,
    {{ analyst_key('child_months.household_key', 'household') }} as household_key,
    child_months.kelurahan_code,
    children.sex,
    children.birth_month,
    child_months.age_months,
    child_months.age_band,
    child_months.nutrition_status,
    date_trunc('month', child_months.last_measured_on)::date as last_measured_month,
    child_months.is_stunted,
    child_months.is_wasted,
    child_months.is_underweight,
    child_months.measured_in_month,
    child_months.ind_anak_01,
    child_months.ind_anak_02,
    child_months.ind_anak_03,
    child_months.ind_anak_04,
    child_months.ind_anak_05,
    child_months.ind_anak_06,
    child_months.ind_anak_07,
    child_months.ind_anak_08,
    child_months.ind_anak_09,
    child_months.ind_anak_10,
    child_months.ind_paud
from child_months
left join children
    on children.child_key = child_months.child_key
