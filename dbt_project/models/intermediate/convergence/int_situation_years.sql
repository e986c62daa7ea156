{#
    The years of the situation analysis (analisis situasi): the year of data_date, to date, and the year
    before; each with its latest evaluated month and whether it is the year to date.
#}

with periods as (

    select * from {{ ref('int_convergence_periods') }}

),

years as (

    select
        extract(year from periods.month_start)::integer as year,
        max(periods.month_start) as latest_month,
        bool_or(periods.cutoff_date = periods.data_date) as is_year_to_date
    from periods
    where extract(year from periods.month_start)::integer
        >= extract(year from periods.data_date)::integer - 1
    group by extract(year from periods.month_start)::integer

)

select * from years
