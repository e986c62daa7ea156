{#
    Monthly prevalence of stunting, wasting and underweight per kelurahan (every kelurahan, including
    UNKNOWN, in every month with measurements), per kecamatan and for the city.
    Each child counts once per month, with the latest measurement of the month; an index's flagged
    (biologically implausible) or missing z-score removes the child from that index's denominator only.
    Kecamatan and city rows are sums of the kelurahan rows, so the levels add up.
#}

with measurements as (

    select * from {{ ref('fct_anthropometry') }}

),

wilayah as (

    select * from {{ ref('dim_wilayah') }}

),

latest_in_month as (

    select
        *,
        row_number() over (
            partition by child_key, measurement_month
            order by measured_on desc
        ) as recency_rank
    from measurements

),

kelurahan_counts as (

    select
        measurement_month as month_start,
        kelurahan_code,
        count(*) as children_measured,
        count(*) filter (where not haz_flag) as haz_denominator,
        count(*) filter (where {{ below_minus_2_sd('haz') }}) as stunted,
        count(*) filter (where not haz_flag and haz < -3) as severely_stunted,
        count(*) filter (where not whz_flag) as whz_denominator,
        count(*) filter (where {{ below_minus_2_sd('whz') }}) as wasted,
        count(*) filter (where not waz_flag) as waz_denominator,
        count(*) filter (where {{ below_minus_2_sd('waz') }}) as underweight
    from latest_in_month
    where recency_rank = 1
    group by measurement_month, kelurahan_code

),

months as (

    select distinct month_start from kelurahan_counts

),

kelurahan_rows as (

    select
        months.month_start,
        'kelurahan' as wilayah_level,
        wilayah.kelurahan_code as wilayah_code,
        wilayah.kelurahan_name as wilayah_name,
        wilayah.kecamatan_code,
        wilayah.kecamatan_name,
        wilayah.city_code,
        wilayah.city_name,
        coalesce(kelurahan_counts.children_measured, 0) as children_measured,
        coalesce(kelurahan_counts.haz_denominator, 0) as haz_denominator,
        coalesce(kelurahan_counts.stunted, 0) as stunted,
        coalesce(kelurahan_counts.severely_stunted, 0) as severely_stunted,
        coalesce(kelurahan_counts.whz_denominator, 0) as whz_denominator,
        coalesce(kelurahan_counts.wasted, 0) as wasted,
        coalesce(kelurahan_counts.waz_denominator, 0) as waz_denominator,
        coalesce(kelurahan_counts.underweight, 0) as underweight
    from months
    cross join wilayah
    left join kelurahan_counts
        on kelurahan_counts.month_start = months.month_start
        and kelurahan_counts.kelurahan_code = wilayah.kelurahan_code

),

kecamatan_rows as (

    select
        month_start,
        'kecamatan' as wilayah_level,
        kecamatan_code as wilayah_code,
        min(kecamatan_name) as wilayah_name,
        kecamatan_code,
        sum(children_measured) as children_measured,
        sum(haz_denominator) as haz_denominator,
        sum(stunted) as stunted,
        sum(severely_stunted) as severely_stunted,
        sum(whz_denominator) as whz_denominator,
        sum(wasted) as wasted,
        sum(waz_denominator) as waz_denominator,
        sum(underweight) as underweight
    from kelurahan_rows
    group by month_start, kecamatan_code

),

city_rows as (

    select
        month_start,
        {{ city_level() }} as wilayah_level,
        city_code as wilayah_code,
        min(city_name) as wilayah_name,
        null::text as kecamatan_code,
        sum(children_measured) as children_measured,
        sum(haz_denominator) as haz_denominator,
        sum(stunted) as stunted,
        sum(severely_stunted) as severely_stunted,
        sum(whz_denominator) as whz_denominator,
        sum(wasted) as wasted,
        sum(waz_denominator) as waz_denominator,
        sum(underweight) as underweight
    from kelurahan_rows
    group by month_start, city_code

),

all_levels as (

    select
        month_start, wilayah_level, wilayah_code, wilayah_name, kecamatan_code,
        children_measured, haz_denominator, stunted, severely_stunted,
        whz_denominator, wasted, waz_denominator, underweight
    from kelurahan_rows
    union all
    select * from kecamatan_rows
    union all
    select * from city_rows

),

with_percentages as (

    select
        month_start,
        wilayah_level,
        wilayah_code,
        wilayah_name,
        kecamatan_code,
        children_measured::integer as children_measured,
        haz_denominator::integer as haz_denominator,
        stunted::integer as stunted,
        severely_stunted::integer as severely_stunted,
        round(100.0 * stunted / nullif(haz_denominator, 0), 2) as stunting_pct,
        round(100.0 * severely_stunted / nullif(haz_denominator, 0), 2) as severe_stunting_pct,
        whz_denominator::integer as whz_denominator,
        wasted::integer as wasted,
        round(100.0 * wasted / nullif(whz_denominator, 0), 2) as wasting_pct,
        waz_denominator::integer as waz_denominator,
        underweight::integer as underweight,
        round(100.0 * underweight / nullif(waz_denominator, 0), 2) as underweight_pct
    from all_levels

),

with_previous_month as (

    select
        this_month.*,
        previous_month.stunting_pct as stunting_pct_prev_month
    from with_percentages as this_month
    left join with_percentages as previous_month
        on previous_month.wilayah_level = this_month.wilayah_level
        and previous_month.wilayah_code = this_month.wilayah_code
        and previous_month.month_start = (this_month.month_start - interval '1 month')::date

)

select * from with_previous_month
