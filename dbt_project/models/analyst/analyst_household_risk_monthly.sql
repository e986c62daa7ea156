{#
    One row per household with a target (child under five or pregnancy) and month (fct_household_risk_monthly)
    for analysts: the household's analyst HMAC key, no version key (it would join to the internal marts),
    and its welfare (desil, PKH, Sembako, PBI-JKN), housing, water, sanitation, KRS flags and job codes,
    which analysts may see at row level and the BI role never does (docs/privacy.md).
#}

select
    month,
    {{ analyst_key('household_key', 'household') }} as household_key,
    is_state_at_month_end,
    target_children,
    pregnancies,
    kelurahan_code,
    water_ladder,
    has_improved_water,
    sanitation_ladder,
    has_proper_latrine,
    is_uninhabitable,
    has_earth_floor,
    desil,
    is_desil_1_4,
    has_pbi_jkn,
    receives_pkh,
    receives_sembako,
    krs_at_risk,
    krs_water,
    krs_latrine,
    krs_too_young,
    krs_too_old,
    krs_too_close,
    krs_too_many,
    father_occupation_sector_code,
    father_employment_status_code,
    mother_employment_status_code
from {{ ref('fct_household_risk_monthly') }}
