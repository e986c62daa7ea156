{#
    wilayah_rollup(rows, group_columns, sum_columns): the kelurahan rows of `rows` (a CTE with kelurahan_code,
    kelurahan_name, kecamatan_code, kecamatan_name, city_code, city_name) and, summed from them, one row per
    kecamatan and one for the city, per `group_columns` (period, indicator, …). Output columns: wilayah_level
    ('kelurahan', 'kecamatan', city_level()), wilayah_code, wilayah_name, kecamatan_code (null for the city),
    then group_columns and sum_columns. Kecamatan and city figures are always sums of counts, never averages.
#}
{% macro wilayah_rollup(rows, group_columns, sum_columns) -%}
{%- set groups = group_columns | join(', ') -%}
    select
        'kelurahan' as wilayah_level, kelurahan_code as wilayah_code, kelurahan_name as wilayah_name, kecamatan_code,
        {{ groups }}, {{ sum_columns | join(', ') }}
    from {{ rows }}
    union all
    select
        'kecamatan', kecamatan_code, min(kecamatan_name), kecamatan_code,
        {{ groups }}
        {%- for column in sum_columns %}, sum({{ column }}){% endfor %}
    from {{ rows }}
    group by kecamatan_code, {{ groups }}
    union all
    select
        {{ city_level() }}, city_code, min(city_name), null,
        {{ groups }}
        {%- for column in sum_columns %}, sum({{ column }}){% endfor %}
    from {{ rows }}
    group by city_code, {{ groups }}
{%- endmacro %}
