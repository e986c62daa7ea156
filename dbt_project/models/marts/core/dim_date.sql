{#
    Calendar days from 1 January of the first measurement year to 31 December of the last one
    (the current year when there are no measurements yet).
#}

with measurement_years as (

    select
        date_trunc('year', coalesce(min(measured_on), current_date))::date as first_day,
        (date_trunc('year', coalesce(max(measured_on), current_date)) + interval '1 year - 1 day')::date as last_day
    from {{ ref('int_measurements_deduplicated') }}

),

days as (

    select day::date as date_day
    from measurement_years
    cross join generate_series(first_day, last_day, interval '1 day') as day

),

described as (

    select
        date_day,
        extract(year from date_day)::integer as year,
        extract(quarter from date_day)::integer as quarter,
        extract(month from date_day)::integer as month,
        date_trunc('month', date_day)::date as month_start,
        (array[
            'Januari', 'Februari', 'Maret', 'April', 'Mei', 'Juni',
            'Juli', 'Agustus', 'September', 'Oktober', 'November', 'Desember'
        ])[extract(month from date_day)::integer] as month_name_id,
        date_day = (date_trunc('month', date_day) + interval '1 month - 1 day')::date as is_month_end
    from days

)

select * from described
