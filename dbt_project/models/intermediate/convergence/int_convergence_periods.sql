{#
    The evaluation points of the scorecard: one row per calendar month from the first quarter evaluated
    to the month of data_date. Every row is a cut-off inside its quarter: the month's last day, or
    data_date in the month that contains it. The row whose cut-off is the quarter's (is_quarter_cutoff)
    carries the quarterly scorecard; the others give the quarter-to-date answers fct_child_monthly shows.

    data_date is the latest service or measurement date loaded; var convergence_data_date overrides it
    (tests, or re-publishing a past quarter). Only the last var convergence_history_quarters quarters up
    to data_date are evaluated (default 8: the situation analysis needs this year and the previous one).
#}

with measurement_dates as (

    select
        min(measured_on) as first_day,
        max(measured_on) as last_day
    from {{ ref('int_measurements_located') }}

),

service_dates as (

    select
        min(service_date) as first_day,
        max(service_date) as last_day
    from {{ ref('int_services_attributed') }}

),

bounds as (

    select
        {% if var('convergence_data_date', none) %}
        cast('{{ var("convergence_data_date") }}' as date) as data_date,
        {% else %}
        greatest(measurement_dates.last_day, service_dates.last_day) as data_date,
        {% endif %}
        least(measurement_dates.first_day, service_dates.first_day) as first_day
    from measurement_dates
    cross join service_dates

),

quarter_window as (

    select
        data_date,
        greatest(
            date_trunc('quarter', first_day)::date,
            (date_trunc('quarter', data_date)
                - interval '3 months' * ({{ var('convergence_history_quarters', 8) }} - 1))::date
        ) as first_quarter_start
    from bounds
    where data_date is not null
        and first_day is not null

),

months as (

    select
        quarter_window.data_date,
        month_start::date as month_start
    from quarter_window
    cross join generate_series(
        quarter_window.first_quarter_start,
        date_trunc('month', quarter_window.data_date)::date,
        interval '1 month'
    ) as month_start

),

periods as (

    select
        month_start,
        date_trunc('quarter', month_start)::date as quarter_start,
        (date_trunc('quarter', month_start) + interval '3 months - 1 day')::date as quarter_end,
        extract(year from month_start)::integer || '-Q' || extract(quarter from month_start)::integer as quarter,
        least((month_start + interval '1 month - 1 day')::date, data_date) as cutoff_date,
        data_date
    from months

),

flagged as (

    select
        month_start,
        quarter,
        quarter_start,
        quarter_end,
        cutoff_date,
        data_date,
        cutoff_date = least(quarter_end, data_date) as is_quarter_cutoff,
        least(quarter_end, data_date) < quarter_end as is_partial_quarter
    from periods

)

select * from flagged
