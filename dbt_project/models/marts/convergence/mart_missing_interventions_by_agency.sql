{#
    How many followed-up children miss at least one intervention of each agency (OPD), for the latest
    evaluated month, per kecamatan and for the kota: counts only, never a child. The missing
    interventions are those of int_case_followup_tasks (scorecard indicators answered T in the quarter
    to date, household needs known to be lacking); the person-level list stays in restricted
    (case_followup_tasks). Kelurahan 'UNKNOWN' children count under the UNKNOWN kecamatan.
#}

with children as (

    select * from {{ ref('int_case_followup_children') }}

),

tasks as (

    select * from {{ ref('int_case_followup_tasks') }}

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

located_tasks as (

    select
        children.month,
        tasks.child_key,
        tasks.responsible_agency,
        tasks.intervention_type,
        children.case_category,
        coalesce(wilayah.kecamatan_code, 'UNKNOWN') as kecamatan_code,
        coalesce(wilayah.kecamatan_name, 'UNKNOWN') as kecamatan_name,
        wilayah_city.city_code,
        wilayah_city.city_name
    from tasks
    inner join children
        on children.child_key = tasks.child_key
    left join wilayah
        on wilayah.kelurahan_code = children.kelurahan_code
    cross join (select min(city_code) as city_code, min(city_name) as city_name from wilayah) as wilayah_city

),

kecamatan_rows as (

    select
        month,
        'kecamatan' as wilayah_level,
        kecamatan_code as wilayah_code,
        min(kecamatan_name) as wilayah_name,
        responsible_agency,
        count(distinct child_key) as children_missing,
        count(distinct child_key) filter (where case_category = 'stunting') as stunted_children_missing,
        count(*) as missing_interventions,
        count(*) filter (where intervention_type = 'spesifik') as missing_specific,
        count(*) filter (where intervention_type = 'sensitif') as missing_sensitive
    from located_tasks
    group by month, kecamatan_code, responsible_agency

),

city_rows as (

    select
        month,
        {{ city_level() }} as wilayah_level,
        city_code as wilayah_code,
        min(city_name) as wilayah_name,
        responsible_agency,
        count(distinct child_key) as children_missing,
        count(distinct child_key) filter (where case_category = 'stunting') as stunted_children_missing,
        count(*) as missing_interventions,
        count(*) filter (where intervention_type = 'spesifik') as missing_specific,
        count(*) filter (where intervention_type = 'sensitif') as missing_sensitive
    from located_tasks
    group by month, city_code, responsible_agency

),

followed_up as (

    select count(*) as children_followed_up from children

),

all_rows as (

    select * from kecamatan_rows
    union all
    select * from city_rows

)

select
    all_rows.month::date as month,
    all_rows.wilayah_level::text as wilayah_level,
    all_rows.wilayah_code::text as wilayah_code,
    all_rows.wilayah_name::text as wilayah_name,
    all_rows.responsible_agency::text as responsible_agency,
    all_rows.children_missing::integer as children_missing,
    all_rows.stunted_children_missing::integer as stunted_children_missing,
    all_rows.missing_interventions::integer as missing_interventions,
    all_rows.missing_specific::integer as missing_specific,
    all_rows.missing_sensitive::integer as missing_sensitive,
    followed_up.children_followed_up::integer as children_followed_up_city
from all_rows
cross join followed_up
