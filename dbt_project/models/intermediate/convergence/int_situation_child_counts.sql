{#
    The children and households behind the situation analysis, per wilayah (kelurahan incl. UNKNOWN,
    kecamatan, kota) and year: the children under five of the year's latest evaluated month
    (int_child_monthly), those measured in it, their households, and per risk factor the households
    that have it and those whose attribute is known (int_households_resolved, current state); for health
    insurance the children without their own JKN and those whose insurance is known (int_persons_insured,
    the scorecard's definition). mart_situation_analysis turns them into shares.
#}

with years as (

    select * from {{ ref('int_situation_years') }}

),

wilayah as (

    select * from {{ ref('int_wilayah') }}

),

child_jkn as (

    -- the child's own JKN (int_persons_insured) at the end of the year's latest month
    select
        years.year,
        insured.person_key as child_key,
        case
            when insured.has_dtsen_jkn
                or insured.first_jkn_service_on < (years.latest_month + interval '1 month')::date then true
            when not insured.has_dtsen_jkn then false
        end as has_jkn
    from {{ ref('int_persons_insured') }} as insured
    cross join years

),

latest_children as (

    select
        years.year,
        child_monthly.child_key,
        child_monthly.household_key,
        child_monthly.measured_in_month,
        coalesce(wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code
    from years
    inner join {{ ref('int_child_monthly') }} as child_monthly
        on child_monthly.month = years.latest_month
    left join wilayah
        on wilayah.kelurahan_code = child_monthly.kelurahan_code

),

child_facts as (

    select
        latest_children.year,
        latest_children.child_key,
        latest_children.household_key,
        latest_children.measured_in_month,
        wilayah.kelurahan_code,
        wilayah.kecamatan_code,
        wilayah.city_code,
        not households.has_improved_water as has_unimproved_water,
        not households.has_proper_latrine as has_no_proper_latrine,
        households.is_uninhabitable,
        households.is_desil_1_4,
        not child_jkn.has_jkn as has_no_jkn
    from latest_children
    inner join wilayah
        on wilayah.kelurahan_code = latest_children.kelurahan_code
    left join {{ ref('int_households_resolved') }} as households
        on households.household_key = latest_children.household_key
    left join child_jkn
        on child_jkn.child_key = latest_children.child_key
        and child_jkn.year = latest_children.year

),

child_counts as (

    select
        case
            when grouping(child_facts.kelurahan_code) = 0 then 'kelurahan'
            when grouping(child_facts.kecamatan_code) = 0 then 'kecamatan'
            else {{ city_level() }}
        end as wilayah_level,
        coalesce(child_facts.kelurahan_code, child_facts.kecamatan_code, child_facts.city_code) as wilayah_code,
        child_facts.year,
        count(distinct child_facts.child_key) as children_under_five,
        count(distinct child_facts.child_key) filter (where child_facts.measured_in_month)
            as children_measured_last_month,
        count(distinct child_facts.household_key) as households_of_children,
        {% for factor in ['has_unimproved_water', 'has_no_proper_latrine', 'is_uninhabitable', 'is_desil_1_4'] %}
        count(distinct child_facts.household_key) filter (where child_facts.{{ factor }}) as {{ factor }}_households,
        count(distinct child_facts.household_key) filter (where child_facts.{{ factor }} is not null)
            as {{ factor }}_known,
        {% endfor %}
        count(distinct child_facts.child_key) filter (where child_facts.has_no_jkn) as has_no_jkn_children,
        count(distinct child_facts.child_key) filter (where child_facts.has_no_jkn is not null) as has_no_jkn_known
    from child_facts
    group by grouping sets (
        (child_facts.year, child_facts.city_code, child_facts.kecamatan_code, child_facts.kelurahan_code),
        (child_facts.year, child_facts.city_code, child_facts.kecamatan_code),
        (child_facts.year, child_facts.city_code)
    )

)

select * from child_counts
