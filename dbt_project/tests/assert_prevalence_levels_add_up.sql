-- Kelurahan rows add up to their kecamatan row and to the city row, month by month, for every count.
{% set counts = ['children_measured', 'haz_denominator', 'stunted', 'severely_stunted',
                 'whz_denominator', 'wasted', 'waz_denominator', 'underweight'] %}

with prevalence as (

    select * from {{ ref('mart_stunting_prevalence_monthly') }}

),

kelurahan_sums as (

    select
        month_start,
        kecamatan_code,
        {% for count in counts %}sum({{ count }}) as {{ count }}{{ "," if not loop.last }}
        {% endfor %}
    from prevalence
    where wilayah_level = 'kelurahan'
    group by grouping sets ((month_start, kecamatan_code), (month_start))

),

aggregate_rows as (

    select
        month_start,
        case when wilayah_level = 'kecamatan' then wilayah_code end as kecamatan_code,
        {% for count in counts %}{{ count }}{{ "," if not loop.last }}
        {% endfor %}
    from prevalence
    where wilayah_level in ('kecamatan', {{ city_level() }})

)

select
    aggregate_rows.month_start,
    aggregate_rows.kecamatan_code
from aggregate_rows
full outer join kelurahan_sums
    on kelurahan_sums.month_start = aggregate_rows.month_start
    and kelurahan_sums.kecamatan_code is not distinct from aggregate_rows.kecamatan_code
where aggregate_rows.month_start is null
    or kelurahan_sums.month_start is null
    {% for count in counts %}or aggregate_rows.{{ count }} <> kelurahan_sums.{{ count }}
    {% endfor %}
