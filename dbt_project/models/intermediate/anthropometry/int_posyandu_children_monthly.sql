{#
    The posyandu register per month (SKDN, docs/data-quality.md "Posyandu"): one row per child and
    month in which the child belongs to a posyandu — the posyandu of its latest measurement up to that
    month, for 12 months after it (a child not seen for a year has left the register) — and is under
    60 months on the month's first day (birth date = measured_on − age_days). Months run over the months
    with measurements. A child measured in the month carries that visit (the month's latest): weighed,
    e-PPGBM's Naik Berat Badan (N gained, T not gained, O not weighed last month, B first weighing),
    whether it has a KIA book, and which fields the measurement lacks.
#}

with measurements as (

    select * from {{ ref('int_measurements_located') }}

),

visit_details as (

    select
        source_file,
        source_row,
        left(upper(btrim(weight_gain)), 1) as weight_gain_code,
        upper(btrim(kia)) in ('YA', 'Y', 'ADA') as has_kia_book
    from {{ ref('stg_eppgbm__measurements') }}

),

months as (

    select distinct measurement_month as month_start from measurements

),

monthly_visits as (

    select distinct on (measurements.child_key, measurements.measurement_month)
        measurements.child_key,
        measurements.measurement_month,
        measurements.measured_on - measurements.age_days as birth_date,
        measurements.posyandu_key,
        measurements.weight_kg is not null as is_weighed,
        visit_details.weight_gain_code,
        coalesce(visit_details.has_kia_book, false) as has_kia_book,
        measurements.weight_kg is null as is_missing_weight,
        measurements.height_cm is null as is_missing_height,
        measurements.position is null as is_missing_position,
        measurements.age_days is null as is_missing_birth_date
    from measurements
    left join visit_details
        on visit_details.source_file = measurements.source_file
        and visit_details.source_row = measurements.source_row
    order by measurements.child_key, measurements.measurement_month, measurements.measured_on desc

),

register_spans as (

    -- a visit places the child at its posyandu until the next visit's month, for at most 12 months
    select
        monthly_visits.*,
        max(birth_date) over (partition by child_key) as known_birth_date,
        least(
            lead(measurement_month) over (partition by child_key order by measurement_month),
            (measurement_month + interval '12 months')::date
        ) as register_end
    from monthly_visits

),

register_months as (

    select
        register_spans.child_key,
        months.month_start,
        register_spans.posyandu_key,
        register_spans.known_birth_date,
        months.month_start = register_spans.measurement_month as is_measured,
        months.month_start = register_spans.measurement_month and register_spans.is_weighed as is_weighed,
        case
            when months.month_start = register_spans.measurement_month then register_spans.weight_gain_code
        end as weight_gain_code,
        months.month_start = register_spans.measurement_month and register_spans.has_kia_book as has_kia_book,
        months.month_start = register_spans.measurement_month and (
            register_spans.is_missing_weight or register_spans.is_missing_height
            or register_spans.is_missing_position or register_spans.is_missing_birth_date
        ) as has_missing_field
    from register_spans
    inner join months
        on months.month_start >= register_spans.measurement_month
        and months.month_start < register_spans.register_end

)

select
    child_key,
    month_start,
    posyandu_key,
    is_measured,
    is_weighed,
    weight_gain_code,
    has_kia_book,
    has_missing_field
from register_months
where known_birth_date is null
    or month_start - known_birth_date < 1827
