{#
    The children the scorecard and fct_child_monthly follow: every child of e-PPGBM with the birth date
    implied by the latest measurement (measured_on − age_days, so no personal column is read), the
    kelurahan of the latest measurement and the linked household (null when the family could not be
    linked). A child whose linked kelurahan is known but whose measurements carry UNKNOWN takes the
    linked one.
#}

with measurements as (

    select
        child_key,
        measured_on,
        age_days,
        kelurahan_code
    from {{ ref('int_measurements_located') }}

),

links as (

    select
        child_key,
        household_key,
        mother_key,
        kelurahan_code
    from {{ ref('int_child_households_linked') }}

),

latest_measurement as (

    select
        child_key,
        (measured_on - age_days) as birth_date,
        kelurahan_code,
        row_number() over (partition by child_key order by measured_on desc) as recency_rank
    from measurements

),

children as (

    select
        latest_measurement.child_key,
        latest_measurement.birth_date,
        links.household_key,
        links.mother_key,
        case
            when latest_measurement.kelurahan_code = 'UNKNOWN' and links.kelurahan_code is not null
                then links.kelurahan_code
            else latest_measurement.kelurahan_code
        end as kelurahan_code
    from latest_measurement
    left join links
        on links.child_key = latest_measurement.child_key
    where latest_measurement.recency_rank = 1

)

select * from children
