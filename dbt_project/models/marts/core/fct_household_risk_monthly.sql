{#
    One row per household × month in which the household has a target: an e-PPGBM child under five
    (birth date as on the child's latest measurement, like dim_child; born on or before the month's last day and not yet five on its first day) or a pregnancy running in
    the month (HPHT on or before the month's last day, not ended before its first day; the end as in
    int_pregnancy_indicators_quarterly: delivery date, else expected date — HPHT + 280 days when
    missing — + 14 days; a miscarriage without a date cannot be placed and is left out).

    Months: from the first to the last month with a measurement or a service.

    Household attributes: the dim_household version valid at the end of the month (valid_from before
    the next month's first instant, valid_to after it). Months before the snapshot's first version of a
    household have no such version; they take the household's current version (its latest one when it
    has left int_households_resolved), and is_state_at_month_end is false for them.

    Materialised as a table, not incrementally: the marts are rebuilt in the audit schema and swapped
    in every night, so an incremental model here would never find last night's rows to build on.
#}

with measurement_dates as (

    select min(measured_on) as first_day, max(measured_on) as last_day from {{ ref('fct_anthropometry') }}

),

service_dates as (

    select min(service_date) as first_day, max(service_date) as last_day
    from {{ ref('fct_intervention_delivered') }}

),

months as (

    select
        month::date as month,
        (month + interval '1 month' - interval '1 day')::date as month_end
    from measurement_dates
    cross join service_dates
    cross join lateral generate_series(
        date_trunc('month', least(measurement_dates.first_day, service_dates.first_day)),
        date_trunc('month', greatest(measurement_dates.last_day, service_dates.last_day)),
        interval '1 month'
    ) as month

),

children as (

    select distinct on (linked.child_key) linked.household_key, linked.child_key, measurements.birth_date
    from {{ ref('int_child_households_linked') }} as linked
    inner join {{ ref('int_measurements_deduplicated') }} as measurements
        on measurements.child_key = linked.child_key
    where linked.household_key is not null
    order by linked.child_key, measurements.measured_on desc

),

pregnancies as (

    select
        household_key,
        pregnancy_key,
        last_menstrual_date,
        case
            when delivery_date is not null then delivery_date
            when pregnancy_status = 'KEGUGURAN' then null
            else coalesce(expected_delivery_date, last_menstrual_date + 280) + 14
        end as ended_on
    from {{ ref('dim_pregnancy') }}
    where household_key is not null

),

child_months as (

    select months.month, children.household_key, count(distinct children.child_key) as target_children
    from children
    inner join months
        on children.birth_date <= months.month_end
        and children.birth_date + interval '5 years' > months.month
    group by months.month, children.household_key

),

pregnancy_months as (

    select months.month, pregnancies.household_key, count(distinct pregnancies.pregnancy_key) as pregnancies
    from pregnancies
    inner join months
        on pregnancies.last_menstrual_date <= months.month_end
        and pregnancies.ended_on >= months.month
    group by months.month, pregnancies.household_key

),

household_months as (

    select
        coalesce(child_months.month, pregnancy_months.month) as month,
        coalesce(child_months.household_key, pregnancy_months.household_key) as household_key,
        coalesce(child_months.target_children, 0) as target_children,
        coalesce(pregnancy_months.pregnancies, 0) as pregnancies
    from child_months
    full outer join pregnancy_months
        on pregnancy_months.month = child_months.month
        and pregnancy_months.household_key = child_months.household_key

),

versions as (

    select * from {{ ref('dim_household') }}

),

latest_versions as (

    select distinct on (household_key) *
    from versions
    order by household_key, valid_from desc

),

with_version as (

    select
        household_months.*,
        coalesce(at_month_end.household_version_key, latest_versions.household_version_key)
            as household_version_key,
        at_month_end.household_version_key is not null as is_state_at_month_end
    from household_months
    left join versions as at_month_end
        on at_month_end.household_key = household_months.household_key
        and at_month_end.valid_from < (household_months.month + interval '1 month')
        and coalesce(at_month_end.valid_to, 'infinity'::timestamp) >= (household_months.month + interval '1 month')
    left join latest_versions
        on latest_versions.household_key = household_months.household_key

),

risk_monthly as (

    select
        with_version.month,
        with_version.household_key,
        with_version.household_version_key,
        with_version.is_state_at_month_end,
        with_version.target_children,
        with_version.pregnancies,
        versions.kelurahan_code,
        versions.water_ladder,
        versions.has_improved_water,
        versions.sanitation_ladder,
        versions.has_proper_latrine,
        versions.is_uninhabitable,
        versions.has_earth_floor,
        versions.desil,
        versions.is_desil_1_4,
        versions.has_pbi_jkn,
        versions.receives_pkh,
        versions.receives_sembako,
        versions.krs_at_risk,
        versions.krs_water,
        versions.krs_latrine,
        versions.krs_too_young,
        versions.krs_too_old,
        versions.krs_too_close,
        versions.krs_too_many,
        versions.father_occupation_sector_code,
        versions.father_employment_status_code,
        versions.mother_employment_status_code
    from with_version
    left join versions on versions.household_version_key = with_version.household_version_key

)

select * from risk_monthly
