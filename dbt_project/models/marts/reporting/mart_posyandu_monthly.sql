{#
    Posyandu activity per month (Aksi 5, SKDN; docs/data-quality.md "Posyandu"): every posyandu of
    dim_facility (master list, posyandu derived from the exports, UNKNOWN-POSYANDU) in every month with
    measurements. From int_posyandu_children_monthly:
      S children_registered  children under five whose latest measurement (≤ 12 months old) was there;
      D children_weighed     of S, weighed in the month;       weighed_pct = D / S;
      K children_with_kia_book  of D, with a KIA book;
      N / T / O / B          of D, e-PPGBM's Naik Berat Badan: gained, not gained, not weighed last month,
                             first weighing;                  gained_pct = N / (N + T);
      children measured in the month and those whose measurement lacks weight, length/height, position
      or birth date.
    Kader activity (cadres present, sessions held) is in none of the sources: not reported.
#}

with register as (

    select * from {{ ref('int_posyandu_children_monthly') }}

),

posyandu as (

    select facility_key as posyandu_key, facility_name as posyandu_name, puskesmas_key, kelurahan_code
    from {{ ref('dim_facility') }}
    where facility_type = 'posyandu'

),

months as (

    select distinct month_start from register

),

posyandu_counts as (

    select
        month_start,
        posyandu_key,
        count(*) as children_registered,
        count(*) filter (where is_weighed) as children_weighed,
        count(*) filter (where is_weighed and has_kia_book) as children_with_kia_book,
        count(*) filter (where is_weighed and weight_gain_code = 'N') as weight_gained,
        count(*) filter (where is_weighed and weight_gain_code = 'T') as weight_not_gained,
        count(*) filter (where is_weighed and weight_gain_code = 'O') as absent_last_month,
        count(*) filter (where is_weighed and weight_gain_code = 'B') as first_weighing,
        count(*) filter (where is_measured) as children_measured,
        count(*) filter (where has_missing_field) as measured_with_missing_field
    from register
    group by month_start, posyandu_key

),

activity as (

    select
        months.month_start,
        posyandu.posyandu_key,
        posyandu.posyandu_name,
        posyandu.puskesmas_key,
        posyandu.kelurahan_code,
        coalesce(posyandu_counts.children_registered, 0) as children_registered,
        coalesce(posyandu_counts.children_weighed, 0) as children_weighed,
        coalesce(posyandu_counts.children_with_kia_book, 0) as children_with_kia_book,
        coalesce(posyandu_counts.weight_gained, 0) as weight_gained,
        coalesce(posyandu_counts.weight_not_gained, 0) as weight_not_gained,
        coalesce(posyandu_counts.absent_last_month, 0) as absent_last_month,
        coalesce(posyandu_counts.first_weighing, 0) as first_weighing,
        coalesce(posyandu_counts.children_measured, 0) as children_measured,
        coalesce(posyandu_counts.measured_with_missing_field, 0) as measured_with_missing_field
    from months
    cross join posyandu
    left join posyandu_counts
        on posyandu_counts.month_start = months.month_start
        and posyandu_counts.posyandu_key = posyandu.posyandu_key

)

select
    month_start,
    posyandu_key::text as posyandu_key,
    posyandu_name::text as posyandu_name,
    puskesmas_key::text as puskesmas_key,
    kelurahan_code::text as kelurahan_code,
    children_registered::integer as children_registered,
    children_weighed::integer as children_weighed,
    round(100.0 * children_weighed / nullif(children_registered, 0), 2)::numeric(5, 2) as weighed_pct,
    children_with_kia_book::integer as children_with_kia_book,
    weight_gained::integer as weight_gained,
    weight_not_gained::integer as weight_not_gained,
    absent_last_month::integer as absent_last_month,
    first_weighing::integer as first_weighing,
    round(100.0 * weight_gained / nullif(weight_gained + weight_not_gained, 0), 2)::numeric(5, 2) as gained_pct,
    children_measured::integer as children_measured,
    measured_with_missing_field::integer as measured_with_missing_field,
    round(100.0 * measured_with_missing_field / nullif(children_measured, 0), 2)::numeric(5, 2) as missing_field_pct
from activity
