{#
    Register (e-PPGBM) stunting prevalence per wilayah (kelurahan incl. UNKNOWN, kecamatan, kota) and
    year of int_situation_years, counting each child once: a child measured in the year up to its latest
    evaluated month with a plausible HAZ is assessed once, with the latest such measurement of the year,
    and is stunted when that HAZ is below −2 SD; it counts in the kelurahan of that measurement. A
    flagged (implausible) or missing HAZ does not assess the child; an earlier plausible one of the same
    year does. The latest status, not "ever stunted in the year": a survey (SSGI/SKI) sees each child
    once, at one point, and "ever" would count a one-off measuring error as a stunted child.
#}

with years as (

    select * from {{ ref('int_situation_years') }}

),

wilayah as (

    select * from {{ ref('int_wilayah') }}

),

assessed as (

    select distinct on (years.year, measurements.child_key)
        years.year,
        measurements.child_key,
        coalesce(wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        {{ below_minus_2_sd('measurements.haz') }} as is_stunted
    from {{ ref('int_measurements_located') }} as measurements
    inner join years
        on extract(year from measurements.measured_on)::integer = years.year
        and measurements.measured_on < (years.latest_month + interval '1 month')::date
    left join wilayah
        on wilayah.kelurahan_code = measurements.kelurahan_code
    where not measurements.haz_flag
    order by years.year, measurements.child_key, measurements.measured_on desc

),

located as (

    select assessed.*, wilayah.kecamatan_code, wilayah.city_code
    from assessed
    inner join wilayah on wilayah.kelurahan_code = assessed.kelurahan_code

),

counts as (

    select
        case
            when grouping(kelurahan_code) = 0 then 'kelurahan'
            when grouping(kecamatan_code) = 0 then 'kecamatan'
            else {{ city_level() }}
        end as wilayah_level,
        coalesce(kelurahan_code, kecamatan_code, city_code) as wilayah_code,
        year,
        count(*) as children_assessed,
        count(*) filter (where is_stunted) as children_stunted
    from located
    group by grouping sets (
        (year, city_code, kecamatan_code, kelurahan_code),
        (year, city_code, kecamatan_code),
        (year, city_code)
    )

)

select * from counts
