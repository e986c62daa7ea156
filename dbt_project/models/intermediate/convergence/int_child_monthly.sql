{#
    One row per child and month in which the child is under five (born by the month's last day, under
    60 months on its first day), for the evaluated months of int_convergence_periods. The nutritional
    status is that of the latest measurement on or before the month's cut-off (its last day, or
    data_date in the current month): stunted (HAZ < −2) before wasted (WHZ < −2) before underweight
    (WAZ < −2); flagged z-scores count as unknown; "unmeasured" when the child has no measurement yet.
    ind_* are the scorecard answers of the quarter to date, as of the month's cut-off; null when the
    child is not a target of that indicator's group in the quarter, or when the indicator has no data
    (none of its sources is configured, docs/scorecard.md).
#}

with periods as (

    select month_start, cutoff_date
    from {{ ref('int_convergence_periods') }}

),

children as (

    select * from {{ ref('int_convergence_children') }}

),

measurements as (

    select
        child_key,
        measured_on,
        {{ below_minus_2_sd('haz') }} as is_stunted,
        {{ below_minus_2_sd('whz') }} as is_wasted,
        {{ below_minus_2_sd('waz') }} as is_underweight
    from {{ ref('int_measurements_located') }}

),

indicators as (

    select answers.*
    from {{ ref('int_child_indicators_quarterly') }} as answers
    inner join {{ ref('int_convergence_indicators') }} as catalogue
        on catalogue.indicator_code = answers.indicator_code
    where catalogue.has_data

),

child_months as (

    select
        children.child_key,
        children.household_key,
        children.kelurahan_code,
        children.birth_date,
        periods.month_start,
        periods.cutoff_date
    from periods
    inner join children
        on children.birth_date <= (periods.month_start + interval '1 month - 1 day')::date
        and (children.birth_date + interval '60 months')::date > periods.month_start

),

latest_measurement as (

    select distinct on (child_months.child_key, child_months.month_start)
        child_months.child_key,
        child_months.month_start,
        measurements.measured_on,
        measurements.is_stunted,
        measurements.is_wasted,
        measurements.is_underweight
    from child_months
    inner join measurements
        on measurements.child_key = child_months.child_key
        and measurements.measured_on <= child_months.cutoff_date
    order by child_months.child_key, child_months.month_start, measurements.measured_on desc

),

answers as (

    select
        child_key,
        date_trunc('month', cutoff_date)::date as month_start,
        {% for number in range(1, 11) %}
        max(answer) filter (where indicator_code = 'ANAK_{{ "%02d" % number }}') as ind_anak_{{ "%02d" % number }},
        {% endfor %}
        max(answer) filter (where indicator_code = 'PAUD_01') as ind_paud
    from indicators
    group by child_key, date_trunc('month', cutoff_date)

),

child_monthly as (

    select
        child_months.child_key,
        child_months.month_start as month,
        child_months.household_key,
        child_months.kelurahan_code,
        age_in_months.age_months,
        case
            when age_in_months.age_months < 6 then '0-5'
            when age_in_months.age_months < 12 then '6-11'
            when age_in_months.age_months < 24 then '12-23'
            else '24-59'
        end as age_band,
        case
            when latest_measurement.measured_on is null then 'unmeasured'
            when latest_measurement.is_stunted then 'stunted'
            when latest_measurement.is_wasted then 'wasted'
            when latest_measurement.is_underweight then 'underweight'
            else 'normal'
        end as nutrition_status,
        latest_measurement.measured_on as last_measured_on,
        latest_measurement.is_stunted,
        latest_measurement.is_wasted,
        latest_measurement.is_underweight,
        coalesce(latest_measurement.measured_on >= child_months.month_start, false) as measured_in_month,
        {% for number in range(1, 11) %}
        answers.ind_anak_{{ "%02d" % number }},
        {% endfor %}
        answers.ind_paud
    from child_months
    cross join lateral (
        select
            greatest(
                0,
                (extract(year from age(child_months.cutoff_date, child_months.birth_date)) * 12
                    + extract(month from age(child_months.cutoff_date, child_months.birth_date)))::integer
            ) as age_months
    ) as age_in_months
    left join latest_measurement
        on latest_measurement.child_key = child_months.child_key
        and latest_measurement.month_start = child_months.month_start
    left join answers
        on answers.child_key = child_months.child_key
        and answers.month_start = child_months.month_start

)

select * from child_monthly
