-- Every scorecard count adds up: y + t + ts + td = targets on every row, and kecamatan and kota rows equal
-- the sums of their kelurahan rows (levels are computed from these sums, never averaged).
with counts as (

    select * from {{ ref('mart_convergence_scorecard_indicators') }}

),

rows_not_adding_up as (

    select wilayah_level, wilayah_code, quarter_start, indicator_code, 'y + t + ts + td <> targets' as problem
    from counts
    where y_count + t_count + ts_count + td_count <> targets

),

kelurahan_sums as (

    select kecamatan_code, quarter_start, indicator_code, sum(targets) as targets, sum(y_count) as y_count
    from counts
    where wilayah_level = 'kelurahan'
    group by kecamatan_code, quarter_start, indicator_code

),

kecamatan_mismatch as (

    select counts.wilayah_level, counts.wilayah_code, counts.quarter_start, counts.indicator_code,
        'kecamatan row differs from the sum of its kelurahan' as problem
    from counts
    inner join kelurahan_sums
        on kelurahan_sums.kecamatan_code = counts.wilayah_code
        and kelurahan_sums.quarter_start = counts.quarter_start
        and kelurahan_sums.indicator_code = counts.indicator_code
    where counts.wilayah_level = 'kecamatan'
        and (counts.targets <> kelurahan_sums.targets or counts.y_count <> kelurahan_sums.y_count)

)

select * from rows_not_adding_up
union all
select * from kecamatan_mismatch
