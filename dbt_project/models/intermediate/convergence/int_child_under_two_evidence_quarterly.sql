{#
    Evidence for ANAK_01 … ANAK_10 per child 0–23 months × evaluation point (int_child_indicators_quarterly).
    Targets: the e-PPGBM children (int_convergence_children) and the children under two known only from
    DTSEN or BKKBN (identity_register_children, target_source 'dtsen' / 'bkkbn'): never weighed, so their
    weighing and length indicators answer T, not leave the denominator.
    A child's due months are the quarter's months up to the cut-off after its birth month and before it
    turns 24 months: the month of birth asks for no weighing, counselling or visit yet. A newborn
    without a due month in the quarter is still a target (due_months = 0).
    Malnourished (ANAK_05) means stunted (HAZ < −2) or wasted, gizi kurang/buruk (WHZ < −2), as in
    Permenkes 2/2020 — not underweight (WAZ). The child is found malnourished on the first measurement
    of the quarter up to the cut-off that says so, or on the quarter's first day when the status it
    brings into the quarter says so: its latest valid HAZ or WHZ before the quarter, measured inside
    the status window of the quarter's first month (within_status_window, as in int_child_monthly).
    Length is measured about twice a year, so stunting carries between length measurements.
#}

with periods as (

    select * from {{ ref('int_convergence_periods') }}

),

children as (

    -- e-PPGBM's children, and the children under two whom only DTSEN or BKKBN know (never weighed)
    select child_key, birth_date, household_key, kelurahan_code, 'eppgbm' as target_source
    from {{ ref('int_convergence_children') }}
    union all
    select child_key, birth_date, household_key, kelurahan_code, target_source
    from {{ ref('identity_register_children') }}

),

measurements as (

    select
        child_key,
        measured_on,
        weight_kg,
        height_cm,
        {{ below_minus_2_sd('haz') }} as is_stunted,
        {{ below_minus_2_sd('whz') }} as is_wasted
    from {{ ref('int_measurements_located') }}

),

services as (

    select
        child_key,
        intervention_code,
        service_date
    from {{ ref('int_services_attributed') }}
    where child_key is not null

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

    select
        nik_key,
        bool_or(birth_certificate_code = 1) as has_birth_certificate
    from {{ ref('stg_dtsen__members') }}
    where nik_key is not null
    group by nik_key

),

insured as (

    -- the one definition of JKN (int_persons_insured): here its DTSEN part; JKN services are counted below
    select person_key, has_dtsen_jkn from {{ ref('int_persons_insured') }}

),

young_targets as (

    select
        children.child_key,
        children.birth_date,
        children.household_key,
        children.kelurahan_code,
        children.target_source,
        periods.quarter,
        periods.quarter_start,
        periods.cutoff_date,
        periods.is_quarter_cutoff,
        periods.is_partial_quarter
    from periods
    inner join children
        on children.birth_date <= periods.cutoff_date
        and (children.birth_date + interval '24 months')::date > periods.quarter_start

),

due_months as (

    select
        young_targets.child_key,
        young_targets.cutoff_date,
        due_month.month_start::date as month_start
    from young_targets
    cross join lateral generate_series(
        young_targets.quarter_start, young_targets.cutoff_date, interval '1 month'
    ) as due_month (month_start)
    where young_targets.birth_date < due_month.month_start
        and (young_targets.birth_date + interval '24 months')::date > due_month.month_start

),

weighed_months as (

    select
        child_key,
        date_trunc('month', measured_on)::date as month_start,
        min(measured_on) as first_record_on
    from measurements
    where weight_kg is not null
    group by child_key, date_trunc('month', measured_on)

),

service_months as (

    select
        child_key,
        intervention_code,
        date_trunc('month', service_date)::date as month_start,
        min(service_date) as first_record_on
    from services
    where intervention_code in ('KONSELING_GIZI', 'KUNJUNGAN_RUMAH', 'KELAS_BKB')
    group by child_key, intervention_code, date_trunc('month', service_date)

),

status_into_quarter as (

    -- the latest valid HAZ and WHZ verdicts before the quarter, inside its first month's status window
    select
        young_targets.child_key,
        young_targets.cutoff_date,
        young_targets.quarter_start,
        (array_agg(measurements.is_stunted order by measurements.measured_on desc)
            filter (where measurements.is_stunted is not null))[1] as was_stunted,
        (array_agg(measurements.is_wasted order by measurements.measured_on desc)
            filter (where measurements.is_wasted is not null))[1] as was_wasted
    from young_targets
    inner join measurements
        on measurements.child_key = young_targets.child_key
        and measurements.measured_on < young_targets.quarter_start
        and {{ within_status_window('measurements.measured_on', 'young_targets.quarter_start') }}
    group by young_targets.child_key, young_targets.cutoff_date, young_targets.quarter_start

),

malnourished_findings as (

    select
        young_targets.child_key,
        young_targets.cutoff_date,
        measurements.measured_on as found_on
    from young_targets
    inner join measurements
        on measurements.child_key = young_targets.child_key
        and measurements.measured_on between young_targets.quarter_start and young_targets.cutoff_date
        and (measurements.is_stunted or measurements.is_wasted)
    union all
    select
        child_key,
        cutoff_date,
        quarter_start as found_on
    from status_into_quarter
    where was_stunted or was_wasted

),

first_found_malnourished as (

    select
        child_key,
        cutoff_date,
        min(found_on) as found_on
    from malnourished_findings
    group by child_key, cutoff_date

),

monthly_coverage as (

    select
        due_months.child_key,
        due_months.cutoff_date,
        count(*) as due_months,
        count(weighed.month_start) as weighed_months,
        count(counselling.month_start) as counselling_months,
        count(parenting.month_start) as parenting_months,
        count(*) filter (
            where due_months.month_start >= date_trunc('month', found.found_on)
        ) as visit_due_months,
        count(visit.month_start) filter (
            where due_months.month_start >= date_trunc('month', found.found_on)
        ) as visited_months
    from due_months
    left join weighed_months as weighed
        on weighed.child_key = due_months.child_key
        and weighed.month_start = due_months.month_start
        and weighed.first_record_on <= due_months.cutoff_date
    left join service_months as counselling
        on counselling.child_key = due_months.child_key
        and counselling.month_start = due_months.month_start
        and counselling.intervention_code = 'KONSELING_GIZI'
        and counselling.first_record_on <= due_months.cutoff_date
    left join service_months as parenting
        on parenting.child_key = due_months.child_key
        and parenting.month_start = due_months.month_start
        and parenting.intervention_code = 'KELAS_BKB'
        and parenting.first_record_on <= due_months.cutoff_date
    left join service_months as visit
        on visit.child_key = due_months.child_key
        and visit.month_start = due_months.month_start
        and visit.intervention_code = 'KUNJUNGAN_RUMAH'
        and visit.first_record_on <= due_months.cutoff_date
    left join first_found_malnourished as found
        on found.child_key = due_months.child_key
        and found.cutoff_date = due_months.cutoff_date
    group by due_months.child_key, due_months.cutoff_date

),

cumulative_services as (

    select
        young_targets.child_key,
        young_targets.cutoff_date,
        count(*) filter (
            where services.intervention_code = 'IMUNISASI_DASAR_LENGKAP'
                and services.service_date < (young_targets.birth_date + interval '12 months')::date
        ) as immunisation_records,
        count(*) filter (where services.intervention_code = 'AKTA_KELAHIRAN') as birth_certificate_records,
        count(*) filter (where services.intervention_code = 'JKN') as insurance_records
    from young_targets
    inner join services
        on services.child_key = young_targets.child_key
        and services.service_date <= young_targets.cutoff_date
    group by young_targets.child_key, young_targets.cutoff_date

),

length_measurements as (

    select
        young_targets.child_key,
        young_targets.cutoff_date,
        count(*) as length_records
    from young_targets
    inner join measurements
        on measurements.child_key = young_targets.child_key
        and measurements.height_cm is not null
        and measurements.measured_on > (young_targets.cutoff_date - interval '12 months')::date
        and measurements.measured_on <= young_targets.cutoff_date
    group by young_targets.child_key, young_targets.cutoff_date

)

select
    young_targets.*,
    (young_targets.birth_date + interval '6 months')::date > young_targets.cutoff_date as is_under_6_months,
    (young_targets.birth_date + interval '12 months')::date > young_targets.cutoff_date as is_under_12_months,
    young_targets.cutoff_date - young_targets.birth_date < 60 as is_under_60_days,
    coalesce(cumulative_services.immunisation_records, 0) as immunisation_records,
    coalesce(cumulative_services.birth_certificate_records, 0) as birth_certificate_records,
    coalesce(cumulative_services.insurance_records, 0) as insurance_records,
    coalesce(length_measurements.length_records, 0) as length_records,
    coalesce(monthly_coverage.due_months, 0) as due_months,
    coalesce(monthly_coverage.weighed_months, 0) as weighed_months,
    coalesce(monthly_coverage.counselling_months, 0) as counselling_months,
    coalesce(monthly_coverage.parenting_months, 0) as parenting_months,
    coalesce(monthly_coverage.visit_due_months, 0) as visit_due_months,
    coalesce(monthly_coverage.visited_months, 0) as visited_months,
    first_found_malnourished.found_on as found_malnourished_on,
    households.has_improved_water,
    households.has_proper_latrine,
    coalesce(insured.has_dtsen_jkn, false) as has_dtsen_jkn,
    coalesce(dtsen_persons.has_birth_certificate, false) as has_dtsen_birth_certificate
from young_targets
left join monthly_coverage
    on monthly_coverage.child_key = young_targets.child_key
    and monthly_coverage.cutoff_date = young_targets.cutoff_date
left join first_found_malnourished
    on first_found_malnourished.child_key = young_targets.child_key
    and first_found_malnourished.cutoff_date = young_targets.cutoff_date
left join cumulative_services
    on cumulative_services.child_key = young_targets.child_key
    and cumulative_services.cutoff_date = young_targets.cutoff_date
left join length_measurements
    on length_measurements.child_key = young_targets.child_key
    and length_measurements.cutoff_date = young_targets.cutoff_date
left join households
    on households.household_key = young_targets.household_key
    and households.cutoff_date = young_targets.cutoff_date
left join dtsen_persons
    on dtsen_persons.nik_key = young_targets.child_key
left join insured
    on insured.person_key = young_targets.child_key
