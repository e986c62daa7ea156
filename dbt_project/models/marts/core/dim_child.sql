{#
    One row per child (pseudonymous child_key). Birth month instead of birth date, for privacy; sex and
    birth month as recorded on the child's latest measurement.
#}

with measurements as (

    select * from {{ ref('int_measurements_deduplicated') }}

),

ranked as (

    select
        child_key,
        sex,
        birth_date,
        identity_method,
        measured_on,
        min(measured_on) over (partition by child_key) as first_measured_on,
        max(measured_on) over (partition by child_key) as last_measured_on,
        row_number() over (partition by child_key order by measured_on desc) as recency_rank
    from measurements

),

children as (

    select
        child_key,
        sex,
        date_trunc('month', birth_date)::date as birth_month,
        identity_method,
        first_measured_on,
        last_measured_on
    from ranked
    where recency_rank = 1

)

select * from children
