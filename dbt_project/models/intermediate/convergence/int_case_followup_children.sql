{#
    Children under five who need a follow-up in the latest evaluated month (the month of data_date),
    pseudonymous. A child is followed up when stunted (HAZ < −2), or at risk:
      - wasted (WHZ < −2) or underweight (WAZ < −2) on the latest measurement;
      - HAZ < −1.5 on the latest measurement (not yet stunted, close to it);
      - weight not gained at the last two weighings ("2T", KMS): each of the last two weighings is T
        (tidak naik). A weighing is T when the previous calendar month has a weighing and the gain since
        it is below the KMS minimum for the child's age in completed months (ref_minimum_weight_gain:
        800 g at 1 month … 200 g from 11 months); without the previous month's weight, e-PPGBM's own
        `Naik Berat Badan` decides (T; N is gained; O, not weighed last month, and B, first weighing,
        say nothing).
    Flagged (implausible) z-scores never qualify a child. Statuses and z-scores are those of
    int_child_monthly as of the month's cut-off: each index's latest valid z-score of the month or the
    6 months before it, so a stunted child weighed since its last length measurement stays stunted.
    A child whose HAZ has gone unknown (no valid HAZ in that window) but whose last valid HAZ was below
    −2 stays on the list as at risk, to be measured again.
#}

with latest_period as (

    select month_start, cutoff_date
    from {{ ref('int_convergence_periods') }}
    order by month_start desc
    limit 1

),

child_months as (

    select child_monthly.*
    from {{ ref('int_child_monthly') }} as child_monthly
    inner join latest_period
        on latest_period.month_start = child_monthly.month

),

latest_measurement as (

    select
        child_months.child_key,
        anthropometry.posyandu_key
    from child_months
    inner join {{ ref('int_measurements_located') }} as anthropometry
        on anthropometry.child_key = child_months.child_key
        and anthropometry.measured_on = child_months.last_measured_on

),

last_valid_haz as (

    -- the child's last valid HAZ at any age, for a child whose HAZ status has gone unknown
    select distinct on (anthropometry.child_key)
        anthropometry.child_key,
        anthropometry.haz
    from {{ ref('int_measurements_located') }} as anthropometry
    inner join child_months
        on child_months.child_key = anthropometry.child_key
        and child_months.status_haz is null
    cross join latest_period
    where not anthropometry.haz_flag
        and anthropometry.measured_on <= latest_period.cutoff_date
    order by anthropometry.child_key, anthropometry.measured_on desc

),

weighings as (

    select
        anthropometry.child_key,
        anthropometry.measured_on,
        anthropometry.weight_kg,
        least(floor(anthropometry.age_days / 30.4375), 12)::integer as age_month,
        upper(btrim(eppgbm_rows.weight_gain)) as eppgbm_weight_gain,
        row_number() over (
            partition by anthropometry.child_key order by anthropometry.measured_on desc
        ) as recency_rank
    from {{ ref('int_measurements_located') }} as anthropometry
    inner join child_months
        on child_months.child_key = anthropometry.child_key
    left join {{ ref('stg_eppgbm__measurements') }} as eppgbm_rows
        on eppgbm_rows.batch_id = anthropometry.batch_id
        and eppgbm_rows.source_file = anthropometry.source_file
        and eppgbm_rows.source_row = anthropometry.source_row
    cross join latest_period
    where anthropometry.weight_kg is not null
        and anthropometry.measured_on <= latest_period.cutoff_date

),

weighing_gains as (

    select
        weighings.child_key,
        weighings.recency_rank,
        case
            when previous.child_key is not null
                then round(((weighings.weight_kg - previous.weight_kg) * 1000)::numeric) < minimum.minimum_gain_g
            when weighings.eppgbm_weight_gain in ('N', 'T') then weighings.eppgbm_weight_gain = 'T'
        end as is_not_gained
    from weighings
    left join weighings as previous
        on previous.child_key = weighings.child_key
        and previous.recency_rank = weighings.recency_rank + 1
        and date_trunc('month', previous.measured_on) = date_trunc('month', weighings.measured_on) - interval '1 month'
    left join {{ ref('ref_minimum_weight_gain') }} as minimum
        on minimum.age_month = weighings.age_month
    where weighings.recency_rank <= 2

),

weight_trend as (

    select
        child_key,
        count(*) filter (where is_not_gained) = 2 as has_weight_not_gained_twice
    from weighing_gains
    group by child_key

),

assessed as (

    select
        child_months.month,
        child_months.child_key,
        child_months.household_key,
        child_months.kelurahan_code,
        child_months.age_months,
        child_months.nutrition_status,
        child_months.last_measured_on,
        latest_measurement.posyandu_key,
        child_months.status_haz as latest_haz,
        child_months.status_whz as latest_whz,
        child_months.status_waz as latest_waz,
        coalesce(child_months.is_stunted, false) as is_stunted,
        coalesce(child_months.is_wasted, false) as is_wasted,
        coalesce(child_months.is_underweight, false) as is_underweight,
        coalesce(child_months.status_haz < -1.5 and child_months.status_haz >= -2, false)
            as is_haz_below_minus_1_5,
        coalesce(last_valid_haz.haz < -2, false) as was_stunted_when_last_measured,
        coalesce(weight_trend.has_weight_not_gained_twice, false) as has_weight_not_gained_twice
    from child_months
    left join latest_measurement
        on latest_measurement.child_key = child_months.child_key
    left join last_valid_haz
        on last_valid_haz.child_key = child_months.child_key
    left join weight_trend
        on weight_trend.child_key = child_months.child_key

)

select
    month,
    child_key,
    household_key,
    kelurahan_code,
    age_months,
    nutrition_status,
    last_measured_on,
    posyandu_key,
    latest_haz,
    latest_whz,
    latest_waz,
    is_stunted,
    is_wasted,
    is_underweight,
    is_haz_below_minus_1_5,
    was_stunted_when_last_measured,
    has_weight_not_gained_twice,
    case when is_stunted then 'stunting' else 'berisiko' end as case_category,
    concat_ws(', ',
        case when is_stunted then 'stunting' end,
        case when is_wasted then 'gizi kurang (wasting)' end,
        case when is_underweight then 'berat badan kurang' end,
        case when is_haz_below_minus_1_5 then 'TB/U < -1,5 SD' end,
        case when was_stunted_when_last_measured
            then 'stunting pada pengukuran panjang/tinggi terakhir, perlu diukur ulang' end,
        case when has_weight_not_gained_twice then 'berat badan tidak naik 2 kali (2T)' end
    ) as followup_reasons
from assessed
where is_stunted
    or is_wasted
    or is_underweight
    or is_haz_below_minus_1_5
    or was_stunted_when_last_measured
    or has_weight_not_gained_twice
