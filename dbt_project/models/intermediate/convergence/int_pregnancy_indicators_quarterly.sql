{#
    Scorecard answers for pregnant women, one row per pregnancy × evaluation point × indicator
    (IBU_01 … IBU_08, docs/scorecard.md). The rows with is_quarter_cutoff are the quarter's scorecard.

    A pregnancy is a target when hpht ≤ cut-off and it has not ended before the quarter's first day:
    ended = delivery date, or expected date + 14 days when no delivery is recorded (expected date =
    hpht + 280 days when the source gives none). A miscarriage (KEGUGURAN) ends on its recorded date
    (delivery_date); one without a date cannot be placed in time and is no target.
    Services count for a pregnancy when attributed to it, or, when attributed to no pregnancy, to its
    mother between hpht and 42 days after its end.
    Insurance (IBU_08) is the mother's own: a JKN service, or her DTSEN member record (nik_key =
    mother_key) with b431a ∈ {1, 2, 4}. The household's PBI-JKN flag may belong to another member.
#}

with periods as (

    select * from {{ ref('int_convergence_periods') }}

),

pregnancies as (

    select
        pregnancy_key,
        mother_key,
        household_key,
        kelurahan_code,
        last_menstrual_date,
        delivery_date,
        coalesce(is_kek, false) or coalesce(is_high_risk, false) as needs_monthly_visit,
        upper(coalesce(pregnancy_status, '')) in ('KEGUGURAN', 'MISCARRIAGE', 'MISCARRIED') as is_miscarried,
        coalesce(
            delivery_date,
            coalesce(expected_delivery_date, last_menstrual_date + 280) + 14
        ) as ended_on
    from {{ ref('int_pregnancies_linked') }}

),

services as (

    select
        pregnancy_key,
        mother_key,
        intervention_code,
        service_date,
        coalesce(quantity, 1) as quantity
    from {{ ref('int_services_attributed') }}
    where intervention_code in ('ANC', 'TTD', 'KF', 'KELAS_IBU_HAMIL', 'KUNJUNGAN_RUMAH', 'JKN')

),

households as (

    select
        household_key,
        has_improved_water,
        has_proper_latrine
    from {{ ref('int_households_resolved') }}

),

dtsen_persons as (

    select
        nik_key,
        bool_or(health_insurance_code in (1, 2, 4)) as has_jkn
    from {{ ref('stg_dtsen__members') }}
    where nik_key is not null
    group by nik_key

),

placed_pregnancies as (

    select *
    from pregnancies
    where not (is_miscarried and delivery_date is null)

),

pregnancy_services as (

    select
        placed_pregnancies.pregnancy_key,
        services.intervention_code,
        services.service_date,
        services.quantity
    from placed_pregnancies
    inner join services
        on services.pregnancy_key = placed_pregnancies.pregnancy_key
    union all
    select
        placed_pregnancies.pregnancy_key,
        services.intervention_code,
        services.service_date,
        services.quantity
    from placed_pregnancies
    inner join services
        on services.pregnancy_key is null
        and services.mother_key = placed_pregnancies.mother_key
        and services.service_date between placed_pregnancies.last_menstrual_date
            and placed_pregnancies.ended_on + 42

),

targets as (

    select
        placed_pregnancies.*,
        periods.quarter,
        periods.quarter_start,
        periods.cutoff_date,
        periods.is_quarter_cutoff,
        periods.is_partial_quarter,
        not placed_pregnancies.is_miscarried
            and placed_pregnancies.delivery_date <= periods.cutoff_date as is_delivered_by_cutoff,
        least(periods.cutoff_date, coalesce(placed_pregnancies.delivery_date, periods.cutoff_date))
            as pregnancy_counted_until
    from periods
    inner join placed_pregnancies
        on placed_pregnancies.last_menstrual_date <= periods.cutoff_date
        and placed_pregnancies.ended_on >= periods.quarter_start

),

scheduled as (

    select
        *,
        (pregnancy_counted_until - last_menstrual_date) / 7 as gestational_weeks,
        case
            when is_delivered_by_cutoff or (pregnancy_counted_until - last_menstrual_date) / 7 >= 36 then 4
            when (pregnancy_counted_until - last_menstrual_date) / 7 >= 25 then 2
            when (pregnancy_counted_until - last_menstrual_date) / 7 >= 13 then 1
            else 0
        end as scheduled_contacts,
        least(90, pregnancy_counted_until - (last_menstrual_date + 84)) as expected_tablets
    from targets

),

cumulative_services as (

    select
        scheduled.pregnancy_key,
        scheduled.cutoff_date,
        count(*) filter (where pregnancy_services.intervention_code = 'ANC') as anc_visits,
        coalesce(sum(pregnancy_services.quantity) filter (
            where pregnancy_services.intervention_code = 'TTD'
        ), 0) as iron_tablets,
        count(*) filter (where pregnancy_services.intervention_code = 'KELAS_IBU_HAMIL') as classes,
        count(*) filter (
            where pregnancy_services.intervention_code = 'KF'
                and not scheduled.is_miscarried
                and pregnancy_services.service_date between scheduled.delivery_date and scheduled.delivery_date + 42
        ) as postnatal_visits,
        count(*) filter (where pregnancy_services.intervention_code = 'JKN') as insurance_records
    from scheduled
    inner join pregnancy_services
        on pregnancy_services.pregnancy_key = scheduled.pregnancy_key
        and pregnancy_services.service_date between scheduled.last_menstrual_date and scheduled.cutoff_date
    group by scheduled.pregnancy_key, scheduled.cutoff_date

),

due_months as (

    select
        scheduled.pregnancy_key,
        scheduled.cutoff_date,
        due_month.month_start::date as month_start
    from scheduled
    cross join lateral generate_series(
        scheduled.quarter_start, scheduled.cutoff_date, interval '1 month'
    ) as due_month (month_start)
    where scheduled.last_menstrual_date <= (due_month.month_start + interval '1 month - 1 day')::date
        and scheduled.ended_on >= due_month.month_start::date

),

visit_months as (

    select
        pregnancy_key,
        date_trunc('month', service_date)::date as month_start,
        min(service_date) as first_visit_on
    from pregnancy_services
    where intervention_code = 'KUNJUNGAN_RUMAH'
    group by pregnancy_key, date_trunc('month', service_date)::date

),

monthly_visits as (

    -- a due month counts as visited when its first visit falls on or before the cut-off
    select
        due_months.pregnancy_key,
        due_months.cutoff_date,
        count(*) as due_months,
        count(*) filter (where visit_months.first_visit_on <= due_months.cutoff_date) as visited_months
    from due_months
    left join visit_months
        on visit_months.pregnancy_key = due_months.pregnancy_key
        and visit_months.month_start = due_months.month_start
    group by due_months.pregnancy_key, due_months.cutoff_date

),

evidence as (

    select
        scheduled.*,
        coalesce(cumulative_services.anc_visits, 0) as anc_visits,
        coalesce(cumulative_services.iron_tablets, 0) as iron_tablets,
        coalesce(cumulative_services.classes, 0) as classes,
        coalesce(cumulative_services.postnatal_visits, 0) as postnatal_visits,
        coalesce(cumulative_services.insurance_records, 0) as insurance_records,
        monthly_visits.due_months,
        monthly_visits.visited_months,
        households.has_improved_water,
        households.has_proper_latrine,
        coalesce(dtsen_persons.has_jkn, false) as has_dtsen_jkn
    from scheduled
    inner join monthly_visits
        on monthly_visits.pregnancy_key = scheduled.pregnancy_key
        and monthly_visits.cutoff_date = scheduled.cutoff_date
    left join cumulative_services
        on cumulative_services.pregnancy_key = scheduled.pregnancy_key
        and cumulative_services.cutoff_date = scheduled.cutoff_date
    left join households
        on households.household_key = scheduled.household_key
    left join dtsen_persons
        on dtsen_persons.nik_key = scheduled.mother_key

),

answers as (

    select
        evidence.pregnancy_key,
        evidence.mother_key,
        evidence.household_key,
        evidence.kelurahan_code,
        evidence.quarter,
        evidence.quarter_start,
        evidence.cutoff_date,
        evidence.is_quarter_cutoff,
        evidence.is_partial_quarter,
        'ibu_hamil' as target_group,
        answer.indicator_code,
        answer.answer,
        answer.evidence_count
    from evidence
    cross join lateral (
        values
            (
                'IBU_01',
                case
                    when gestational_weeks < 13 then 'TS'
                    when anc_visits >= greatest(scheduled_contacts, 1) then 'Y'
                    else 'T'
                end,
                anc_visits
            ),
            (
                'IBU_02',
                case
                    when gestational_weeks < 13 then 'TS'
                    when iron_tablets >= expected_tablets then 'Y'
                    else 'T'
                end,
                iron_tablets
            ),
            (
                'IBU_03',
                case
                    when postnatal_visits >= 3 then 'Y'
                    when is_delivered_by_cutoff and cutoff_date - delivery_date >= 42 then 'T'
                    else 'TS'
                end,
                postnatal_visits
            ),
            (
                'IBU_04',
                case
                    when gestational_weeks < 13 then 'TS'
                    when classes >= greatest(scheduled_contacts, 1) then 'Y'
                    else 'T'
                end,
                classes
            ),
            (
                'IBU_05',
                case
                    when not needs_monthly_visit then 'TS'
                    when visited_months = due_months then 'Y'
                    else 'T'
                end,
                visited_months
            ),
            (
                'IBU_06',
                case when has_improved_water then 'Y' else 'T' end,
                case when has_improved_water then 1 else 0 end
            ),
            (
                'IBU_07',
                case when has_proper_latrine then 'Y' else 'T' end,
                case when has_proper_latrine then 1 else 0 end
            ),
            (
                'IBU_08',
                case when insurance_records > 0 or has_dtsen_jkn then 'Y' else 'T' end,
                insurance_records + case when has_dtsen_jkn then 1 else 0 end
            )
    ) as answer (indicator_code, answer, evidence_count)

)

select
    pregnancy_key,
    mother_key,
    household_key,
    kelurahan_code,
    quarter,
    quarter_start,
    cutoff_date,
    is_quarter_cutoff,
    is_partial_quarter,
    target_group,
    indicator_code,
    answer,
    evidence_count::integer as evidence_count
from answers
