{#
    The evidence behind the pregnant women's scorecard answers (int_pregnancy_indicators_quarterly),
    one row per target pregnancy × evaluation point: gestational age and the contacts and tablets it
    schedules, services counted up to the cut-off, due and visited months, household attributes and
    the mother's own DTSEN insurance.

    A pregnancy is a target when hpht ≤ cut-off and it has not ended before the quarter's first day:
    ended = delivery date, or expected date + 14 days when no delivery is recorded (expected date =
    hpht + 280 days when the source gives none). A miscarriage (KEGUGURAN) ends on its recorded date
    (delivery_date); one without a date cannot be placed in time and is no target. A delivered woman
    stays a target until her 42-day postnatal window has elapsed (followed_until = delivery + 42), so a
    delivery in a quarter's last six weeks has its postnatal visits (IBU_03) judged in the next quarter.
    Services count for a pregnancy when attributed to it, or, when attributed to no pregnancy, to its
    mother between hpht and 42 days after its end.
    Insurance is the mother's own: a JKN service, or her DTSEN member record (nik_key = mother_key)
    with b431a ∈ {1, 2, 4}. The household's PBI-JKN flag may belong to another member.
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
        ) as ended_on,
        case
            when delivery_date is not null
                and upper(coalesce(pregnancy_status, '')) not in ('KEGUGURAN', 'MISCARRIAGE', 'MISCARRIED')
                then delivery_date + 42
            else coalesce(delivery_date, coalesce(expected_delivery_date, last_menstrual_date + 280) + 14)
        end as followed_until
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

    -- water and latrine as of each cut-off (the snapshot version, completed public works)
    select
        household_key,
        cutoff_date,
        has_improved_water,
        has_proper_latrine
    from {{ ref('int_household_facilities_quarterly') }}

),

dtsen_persons as (

    -- the one definition of JKN (int_persons_insured): here its DTSEN part; JKN services are counted below
    select person_key as nik_key, has_dtsen_jkn as has_jkn from {{ ref('int_persons_insured') }}

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
        and placed_pregnancies.followed_until >= periods.quarter_start

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
        coalesce(monthly_visits.due_months, 0) as due_months,
        coalesce(monthly_visits.visited_months, 0) as visited_months,
        households.has_improved_water,
        households.has_proper_latrine,
        coalesce(dtsen_persons.has_jkn, false) as has_dtsen_jkn
    from scheduled
    left join monthly_visits
        on monthly_visits.pregnancy_key = scheduled.pregnancy_key
        and monthly_visits.cutoff_date = scheduled.cutoff_date
    left join cumulative_services
        on cumulative_services.pregnancy_key = scheduled.pregnancy_key
        and cumulative_services.cutoff_date = scheduled.cutoff_date
    left join households
        on households.household_key = scheduled.household_key
        and households.cutoff_date = scheduled.cutoff_date
    left join dtsen_persons
        on dtsen_persons.nik_key = scheduled.mother_key

)

select * from evidence
