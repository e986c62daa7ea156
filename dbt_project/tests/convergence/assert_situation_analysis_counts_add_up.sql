-- mart_situation_analysis: measured children within those known, each household denominator within
-- the households counted, and the kecamatan and kota children equal to the sums of their kelurahan.
with situation as (

    select * from {{ ref('mart_situation_analysis') }}

),

kelurahan_sums as (

    select 'kecamatan' as wilayah_level, kecamatan_code as wilayah_code, year,
        sum(children_under_five) as children_under_five,
        sum(children_measured_last_month) as children_measured_last_month
    from situation
    where wilayah_level = 'kelurahan'
    group by kecamatan_code, year
    union all
    select {{ city_level() }}, (select wilayah_code from situation where wilayah_level = {{ city_level() }} limit 1), year,
        sum(children_under_five), sum(children_measured_last_month)
    from situation
    where wilayah_level = 'kelurahan'
    group by year

)

select wilayah_level, wilayah_code, year, 'count exceeds its denominator' as problem
from situation
where children_measured_last_month > children_under_five
    or greatest(households_unimproved_water_known, households_no_proper_latrine_known, households_rtlh_known,
        households_desil_1_4_known) > households_of_children
    or children_no_jkn_known > children_under_five
union all
select situation.wilayah_level, situation.wilayah_code, situation.year, 'not the sum of its kelurahan'
from situation
inner join kelurahan_sums
    on kelurahan_sums.wilayah_level = situation.wilayah_level
    and kelurahan_sums.wilayah_code = situation.wilayah_code
    and kelurahan_sums.year = situation.year
where (situation.children_under_five, situation.children_measured_last_month)
    is distinct from (kelurahan_sums.children_under_five, kelurahan_sums.children_measured_last_month)
