-- mart_risk_factor_profile: each "with" count within its total, the known children within those
-- assessed, the city's children_assessed equal to the latest month's children with a valid HAZ, and the
-- kecamatan and kota rows equal to the sums of their kelurahan rows.
with profile as (

    select * from {{ ref('mart_risk_factor_profile') }}

),

expected_city as (

    select count(*) as children_assessed
    from {{ ref('fct_child_monthly') }}
    where month = (select max(month_start) from {{ ref('int_convergence_periods') }})
        and is_stunted is not null

),

kelurahan_sums as (

    select
        'kecamatan' as wilayah_level, kecamatan_code as wilayah_code, factor_code,
        sum(stunted_with) as stunted_with, sum(stunted_total) as stunted_total,
        sum(not_stunted_with) as not_stunted_with, sum(not_stunted_total) as not_stunted_total,
        sum(children_assessed) as children_assessed
    from profile
    where wilayah_level = 'kelurahan'
    group by kecamatan_code, factor_code
    union all
    select
        {{ city_level() }}, (select wilayah_code from profile where wilayah_level = {{ city_level() }} limit 1), factor_code,
        sum(stunted_with), sum(stunted_total), sum(not_stunted_with), sum(not_stunted_total),
        sum(children_assessed)
    from profile
    where wilayah_level = 'kelurahan'
    group by factor_code

)

select wilayah_level, wilayah_code, factor_code, 'with exceeds total or known exceeds assessed' as problem
from profile
where stunted_with > stunted_total
    or not_stunted_with > not_stunted_total
    or stunted_total + not_stunted_total > children_assessed
union all
select profile.wilayah_level, profile.wilayah_code, profile.factor_code, 'city children differ from fct_child_monthly'
from profile
cross join expected_city
where profile.wilayah_level = {{ city_level() }}
    and profile.children_assessed <> expected_city.children_assessed
union all
select profile.wilayah_level, profile.wilayah_code, profile.factor_code, 'not the sum of its kelurahan'
from profile
inner join kelurahan_sums
    on kelurahan_sums.wilayah_level = profile.wilayah_level
    and kelurahan_sums.wilayah_code = profile.wilayah_code
    and kelurahan_sums.factor_code = profile.factor_code
where (profile.stunted_with, profile.stunted_total, profile.not_stunted_with, profile.not_stunted_total,
        profile.children_assessed)
    is distinct from (kelurahan_sums.stunted_with, kelurahan_sums.stunted_total, kelurahan_sums.not_stunted_with,
        kelurahan_sums.not_stunted_total, kelurahan_sums.children_assessed)
