with source_rows as (

    select * from {{ source('dtsen', 'dtsen_programmes') }}

),

renamed as (

    select
        household_id,
        upper(btrim(programme)) as programme,
        year,
        month,
        make_date(year::integer, month::integer, 1) as programme_month,
        updated_at

    from source_rows

)

select * from renamed
