{#
    One row per Perpres 72/2021 indicator × target × quarter (quarter cut-offs of int_convergence_periods,
    a partial quarter judged to its cut-off), with whether the target received the intervention
    (docs/scorecard.md, "Perpres 72/2021 coverage"). Age is on the cut-off (cut-off − birth date).
    - PERPRES_KEK_PMT: pregnancies with KEK pregnant during the quarter (hpht ≤ cut-off, not ended before
      the quarter's first day) → a PMT_BUMIL_KEK service from hpht to the cut-off.
    - PERPRES_TTD_90: pregnancies delivered in the quarter up to the cut-off (miscarriages excluded) →
      ≥ 90 iron tablets (TTD quantities) from hpht to delivery.
    - PERPRES_ASI_EKSKLUSIF: children who reach 6 months (183 days) in the quarter up to the cut-off →
      an ASI_EKSKLUSIF record (e-PPGBM/KIA record it when the 6 months are completed) up to the cut-off.
    - PERPRES_MPASI: children 6–23 months (183–730 days) → an MPASI record up to the cut-off.
    - PERPRES_GIZI_BURUK_TATA_LAKSANA / PERPRES_GIZI_KURANG_PMT: children whose latest valid WHZ in the
      quarter is < −3 (gizi buruk) / −3 to < −2 (gizi kurang, Permenkes 2/2020) → a
      TATA_LAKSANA_GIZI_BURUK / PMT_BALITA service from the quarter's first day to the cut-off.
    - PERPRES_PEMANTAUAN_PERTUMBUHAN: children under 60 months (< 1827 days) → weighed at least once in
      the quarter up to the cut-off.
    - PERPRES_IMUNISASI_DASAR_LENGKAP: children 12–23 months (365–730 days) → an
      IMUNISASI_DASAR_LENGKAP record up to the cut-off.
    Children are int_convergence_children (the e-PPGBM register), pregnancies int_pregnancies_linked.
    A pregnancy's services are those attributed to it, or to its mother (with no pregnancy) from hpht to
    42 days after its end, as for the scorecard.
#}

with periods as (

    select quarter, quarter_start, cutoff_date, is_partial_quarter
    from {{ ref('int_convergence_periods') }}
    where is_quarter_cutoff

),

pregnancies as (

    select
        pregnancy_key,
        mother_key,
        kelurahan_code,
        last_menstrual_date,
        delivery_date,
        coalesce(is_kek, false) as is_kek,
        upper(coalesce(pregnancy_status, '')) in ('KEGUGURAN', 'MISCARRIAGE', 'MISCARRIED') as is_miscarried,
        coalesce(
            delivery_date,
            coalesce(expected_delivery_date, last_menstrual_date + 280) + 14
        ) as ended_on
    from {{ ref('int_pregnancies_linked') }}

),

children as (

    select child_key, birth_date, kelurahan_code
    from {{ ref('int_convergence_children') }}

),

services as (

    select pregnancy_key, mother_key, child_key, intervention_code, service_date, coalesce(quantity, 1) as quantity
    from {{ ref('int_services_attributed') }}
    where intervention_code in (
        'PMT_BUMIL_KEK', 'TTD', 'ASI_EKSKLUSIF', 'MPASI', 'TATA_LAKSANA_GIZI_BURUK', 'PMT_BALITA',
        'IMUNISASI_DASAR_LENGKAP'
    )

),

measurements as (

    select child_key, measured_on, weight_kg, case when not whz_flag then whz end as whz_valid
    from {{ ref('int_measurements_located') }}

),

pregnancy_services as (

    select
        pregnancies.pregnancy_key,
        services.intervention_code,
        services.service_date,
        services.quantity
    from pregnancies
    inner join services
        on services.pregnancy_key = pregnancies.pregnancy_key
        or (
            services.pregnancy_key is null
            and services.child_key is null
            and services.mother_key = pregnancies.mother_key
            and services.service_date between pregnancies.last_menstrual_date and pregnancies.ended_on + 42
        )
    where services.intervention_code in ('PMT_BUMIL_KEK', 'TTD')

),

kek_targets as (

    select
        'PERPRES_KEK_PMT' as indicator_code,
        pregnancies.pregnancy_key as target_key,
        pregnancies.kelurahan_code,
        periods.quarter, periods.quarter_start, periods.cutoff_date, periods.is_partial_quarter,
        exists (
            select 1 from pregnancy_services
            where pregnancy_services.pregnancy_key = pregnancies.pregnancy_key
                and pregnancy_services.intervention_code = 'PMT_BUMIL_KEK'
                and pregnancy_services.service_date between pregnancies.last_menstrual_date and periods.cutoff_date
        ) as is_covered
    from pregnancies
    inner join periods
        on pregnancies.last_menstrual_date <= periods.cutoff_date
        and pregnancies.ended_on >= periods.quarter_start
    where pregnancies.is_kek
        and not (pregnancies.is_miscarried and pregnancies.delivery_date is null)

),

iron_targets as (

    select
        'PERPRES_TTD_90' as indicator_code,
        pregnancies.pregnancy_key as target_key,
        pregnancies.kelurahan_code,
        periods.quarter, periods.quarter_start, periods.cutoff_date, periods.is_partial_quarter,
        coalesce((
            select sum(pregnancy_services.quantity) from pregnancy_services
            where pregnancy_services.pregnancy_key = pregnancies.pregnancy_key
                and pregnancy_services.intervention_code = 'TTD'
                and pregnancy_services.service_date between pregnancies.last_menstrual_date and pregnancies.delivery_date
        ), 0) >= 90 as is_covered
    from pregnancies
    inner join periods
        on pregnancies.delivery_date between periods.quarter_start and periods.cutoff_date
    where not pregnancies.is_miscarried

),

children_on_cutoff as (

    select
        children.child_key,
        children.birth_date,
        children.kelurahan_code,
        periods.quarter, periods.quarter_start, periods.cutoff_date, periods.is_partial_quarter,
        periods.cutoff_date - children.birth_date as age_days
    from children
    inner join periods
        on children.birth_date <= periods.cutoff_date

),

child_service_dates as (

    select child_key, intervention_code, min(service_date) as first_service_on
    from services
    where child_key is not null
        and intervention_code in ('ASI_EKSKLUSIF', 'MPASI', 'IMUNISASI_DASAR_LENGKAP')
    group by child_key, intervention_code

),

record_targets as (

    select
        targets.indicator_code,
        children_on_cutoff.child_key as target_key,
        children_on_cutoff.kelurahan_code,
        children_on_cutoff.quarter, children_on_cutoff.quarter_start, children_on_cutoff.cutoff_date,
        children_on_cutoff.is_partial_quarter,
        coalesce(child_service_dates.first_service_on <= children_on_cutoff.cutoff_date, false) as is_covered
    from children_on_cutoff
    inner join (values
        ('PERPRES_ASI_EKSKLUSIF', 'ASI_EKSKLUSIF'),
        ('PERPRES_MPASI', 'MPASI'),
        ('PERPRES_IMUNISASI_DASAR_LENGKAP', 'IMUNISASI_DASAR_LENGKAP')
    ) as targets (indicator_code, intervention_code)
        on case targets.indicator_code
            when 'PERPRES_ASI_EKSKLUSIF'
                then children_on_cutoff.birth_date + 183 between children_on_cutoff.quarter_start
                    and children_on_cutoff.cutoff_date
            when 'PERPRES_MPASI' then children_on_cutoff.age_days between 183 and 730
            else children_on_cutoff.age_days between 365 and 730
        end
    left join child_service_dates
        on child_service_dates.child_key = children_on_cutoff.child_key
        and child_service_dates.intervention_code = targets.intervention_code

),

quarter_measurements as (

    select
        children_on_cutoff.child_key,
        children_on_cutoff.cutoff_date,
        count(measurements.weight_kg) as weighings,
        (array_agg(measurements.whz_valid order by measurements.measured_on desc)
            filter (where measurements.whz_valid is not null))[1] as latest_whz
    from children_on_cutoff
    inner join measurements
        on measurements.child_key = children_on_cutoff.child_key
        and measurements.measured_on between children_on_cutoff.quarter_start and children_on_cutoff.cutoff_date
    group by children_on_cutoff.child_key, children_on_cutoff.cutoff_date

),

monitoring_targets as (

    select
        'PERPRES_PEMANTAUAN_PERTUMBUHAN' as indicator_code,
        children_on_cutoff.child_key as target_key,
        children_on_cutoff.kelurahan_code,
        children_on_cutoff.quarter, children_on_cutoff.quarter_start, children_on_cutoff.cutoff_date,
        children_on_cutoff.is_partial_quarter,
        coalesce(quarter_measurements.weighings, 0) > 0 as is_covered
    from children_on_cutoff
    left join quarter_measurements
        on quarter_measurements.child_key = children_on_cutoff.child_key
        and quarter_measurements.cutoff_date = children_on_cutoff.cutoff_date
    where children_on_cutoff.age_days < 1827

),

wasting_targets as (

    select
        case
            when quarter_measurements.latest_whz < -3 then 'PERPRES_GIZI_BURUK_TATA_LAKSANA'
            else 'PERPRES_GIZI_KURANG_PMT'
        end as indicator_code,
        children_on_cutoff.child_key as target_key,
        children_on_cutoff.kelurahan_code,
        children_on_cutoff.quarter, children_on_cutoff.quarter_start, children_on_cutoff.cutoff_date,
        children_on_cutoff.is_partial_quarter,
        exists (
            select 1 from services
            where services.child_key = children_on_cutoff.child_key
                and services.intervention_code = case
                    when quarter_measurements.latest_whz < -3 then 'TATA_LAKSANA_GIZI_BURUK'
                    else 'PMT_BALITA'
                end
                and services.service_date between children_on_cutoff.quarter_start and children_on_cutoff.cutoff_date
        ) as is_covered
    from children_on_cutoff
    inner join quarter_measurements
        on quarter_measurements.child_key = children_on_cutoff.child_key
        and quarter_measurements.cutoff_date = children_on_cutoff.cutoff_date
    where quarter_measurements.latest_whz < -2
        and children_on_cutoff.age_days < 1827

),

targets as (

    select * from kek_targets
    union all
    select * from iron_targets
    union all
    select * from record_targets
    union all
    select * from monitoring_targets
    union all
    select * from wasting_targets

)

select
    indicator_code::text as indicator_code,
    target_key::text as target_key,
    coalesce(kelurahan_code, 'UNKNOWN')::text as kelurahan_code,
    quarter::text as quarter,
    quarter_start,
    cutoff_date,
    is_partial_quarter,
    is_covered
from targets
