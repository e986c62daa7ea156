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

wilayah_tasks as (

    select
        located_tasks.month,
        located_tasks.child_key,
        located_tasks.responsible_agency,
        located_tasks.intervention_type,
        located_tasks.case_category,
        levels.wilayah_level,
        levels.wilayah_code,
        levels.wilayah_name
    from located_tasks
    cross join lateral (
        values
            ('kecamatan', located_tasks.kecamatan_code, located_tasks.kecamatan_name),
            ({{ city_level() }}, located_tasks.city_code, located_tasks.city_name)
    ) as levels (wilayah_level, wilayah_code, wilayah_name)

),

agency_counts as (

    select
        month,
        wilayah_level,
        wilayah_code,
        min(wilayah_name) as wilayah_name,
        responsible_agency,
        count(distinct child_key) as children_missing,
        count(distinct child_key) filter (where case_category = 'stunting') as stunted_children_missing,
        count(*) as missing_interventions,
        count(*) filter (where intervention_type = 'spesifik') as missing_specific,
        count(*) filter (where intervention_type = 'sensitif') as missing_sensitive
    from wilayah_tasks
    group by month, wilayah_level, wilayah_code, responsible_agency

),

followed_up as (

    select count(*) as children_followed_up from children

)

select
    agency_counts.month::date as month,
    agency_counts.wilayah_level::text as wilayah_level,
    agency_counts.wilayah_code::text as wilayah_code,
    agency_counts.wilayah_name::text as wilayah_name,
    agency_counts.responsible_agency::text as responsible_agency,
    agency_counts.children_missing::integer as children_missing,
    agency_counts.stunted_children_missing::integer as stunted_children_missing,
    agency_counts.missing_interventions::integer as missing_interventions,
    agency_counts.missing_specific::integer as missing_specific,
    agency_counts.missing_sensitive::integer as missing_sensitive,
    followed_up.children_followed_up::integer as children_followed_up_city
from agency_counts
cross join followed_up
