{#
    One row per child and month in which the child is under five (born by the month's last day, under
    60 months on its first day), for the evaluated months of int_convergence_periods. Each index (HAZ,
    WHZ, WAZ) takes its latest valid z-score (present, not flagged) measured on or before the month's
    cut-off (its last day, or data_date in the current month) and at most 6 months before the month
    (within_status_window; var status_carry_forward_months): a length measured twice a year carries
    the stunting status to the next one. The status is stunted (HAZ < −2) before wasted (WHZ < −2)
    before underweight (WAZ < −2); normal only when all three indices are known and none is below −2;
    "unknown" otherwise (no valid z-score in the window); "unmeasured" when the child has no
    measurement at all yet. is_stunted, is_wasted and is_underweight are null when their index is unknown.
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
        case when not haz_flag then haz end as valid_haz,
        case when not whz_flag then whz end as valid_whz,
        case when not waz_flag then waz end as valid_waz
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
        measurements.measured_on
    from child_months
    inner join measurements
        on measurements.child_key = child_months.child_key
        and measurements.measured_on <= child_months.cutoff_date
    order by child_months.child_key, child_months.month_start, measurements.measured_on desc

),

status_zscores as (

    -- per index, the latest valid z-score inside the status window
    select
        child_months.child_key,
        child_months.month_start,
        (array_agg(measurements.valid_haz order by measurements.measured_on desc)
            filter (where measurements.valid_haz is not null))[1] as status_haz,
        (array_agg(measurements.valid_whz order by measurements.measured_on desc)
            filter (where measurements.valid_whz is not null))[1] as status_whz,
        (array_agg(measurements.valid_waz order by measurements.measured_on desc)
            filter (where measurements.valid_waz is not null))[1] as status_waz
    from child_months
    inner join measurements
        on measurements.child_key = child_months.child_key
        and measurements.measured_on <= child_months.cutoff_date
        and {{ within_status_window('measurements.measured_on', 'child_months.month_start') }}
    group by child_months.child_key, child_months.month_start

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
            when status_zscores.status_haz < -2 then 'stunted'
            when status_zscores.status_whz < -2 then 'wasted'
            when status_zscores.status_waz < -2 then 'underweight'
            when status_zscores.status_haz is not null
                and status_zscores.status_whz is not null
                and status_zscores.status_waz is not null then 'normal'
            else 'unknown'
        end as nutrition_status,
        latest_measurement.measured_on as last_measured_on,
        status_zscores.status_haz < -2 as is_stunted,
        status_zscores.status_whz < -2 as is_wasted,
        status_zscores.status_waz < -2 as is_underweight,
        status_zscores.status_haz,
        status_zscores.status_whz,
        status_zscores.status_waz,
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
    left join status_zscores
        on status_zscores.child_key = child_months.child_key
        and status_zscores.month_start = child_months.month_start
    left join answers
        on answers.child_key = child_months.child_key
        and answers.month_start = child_months.month_start

)

select * from child_monthly
