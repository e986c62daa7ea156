{#
    Convergence levels per wilayah and quarter (docs/scorecard.md, "Levels"):
      women    = ΣY / (8 × n_women − ΣTS) × 100
      children = ΣY / (10 × n_0–23 + 1 × n_2–6 − ΣTS) × 100
      combined = (ΣY_women + ΣY_children) / (due_women + due_children) × 100
    Each group's ΣY/ΣTS sums over its indicators; since every target has a row for each indicator of
    its group, "indicators × targets" is the number of answer rows. A level whose denominator is 0 is
    null (nothing was due). Built on the per-indicator mart, so kecamatan and city levels come from
    summed counts, never from averaged kelurahan levels. An indicator without data (has_data false: none
    of its sources is configured) is left out of ΣY, ΣTS and the due count, and counted in
    *_indicators_without_data: the level is that of the indicators that have data.
#}

with indicator_counts as (

    select * from {{ ref('mart_convergence_scorecard_indicators') }}

),

group_counts as (

    select
        wilayah_level,
        wilayah_code,
        wilayah_name,
        kecamatan_code,
        quarter,
        quarter_start,
        cutoff_date,
        is_partial_quarter,
        max(targets) filter (where target_group = 'ibu_hamil') as women_targets,
        sum(targets) filter (where target_group = 'ibu_hamil' and has_data) as women_answers,
        count(distinct indicator_code) filter (where target_group = 'ibu_hamil' and not has_data)
            as women_indicators_without_data,
        sum(y_count) filter (where target_group = 'ibu_hamil') as women_y,
        sum(ts_count) filter (where target_group = 'ibu_hamil') as women_ts,
        max(targets) filter (where target_group = 'anak_0_23') as children_0_23_targets,
        max(targets) filter (where target_group = 'anak_2_6') as children_2_6_targets,
        sum(targets) filter (where target_group in ('anak_0_23', 'anak_2_6') and has_data) as children_answers,
        count(distinct indicator_code) filter (where target_group in ('anak_0_23', 'anak_2_6') and not has_data)
            as children_indicators_without_data,
        sum(y_count) filter (where target_group in ('anak_0_23', 'anak_2_6')) as children_y,
        sum(ts_count) filter (where target_group in ('anak_0_23', 'anak_2_6')) as children_ts
    from indicator_counts
    group by wilayah_level, wilayah_code, wilayah_name, kecamatan_code,
        quarter, quarter_start, cutoff_date, is_partial_quarter

),

due as (

    select
        *,
        women_answers - women_ts as women_due,
        children_answers - children_ts as children_due
    from group_counts

)

select
    wilayah_level,
    wilayah_code,
    wilayah_name,
    kecamatan_code,
    quarter,
    quarter_start,
    cutoff_date,
    is_partial_quarter,
    coalesce(women_targets, 0)::integer as women_targets,
    coalesce(women_y, 0)::integer as women_y,
    coalesce(women_ts, 0)::integer as women_ts,
    coalesce(women_due, 0)::integer as women_due,
    round(100.0 * women_y / nullif(women_due, 0), 2) as women_level,
    coalesce(children_0_23_targets, 0)::integer as children_0_23_targets,
    coalesce(children_2_6_targets, 0)::integer as children_2_6_targets,
    coalesce(children_y, 0)::integer as children_y,
    coalesce(children_ts, 0)::integer as children_ts,
    coalesce(children_due, 0)::integer as children_due,
    round(100.0 * children_y / nullif(children_due, 0), 2) as children_level,
    (coalesce(women_due, 0) + coalesce(children_due, 0))::integer as combined_due,
    round(
        100.0 * (coalesce(women_y, 0) + coalesce(children_y, 0))
        / nullif(coalesce(women_due, 0) + coalesce(children_due, 0), 0),
        2
    ) as combined_level,
    coalesce(women_indicators_without_data, 0)::integer as women_indicators_without_data,
    coalesce(children_indicators_without_data, 0)::integer as children_indicators_without_data
from due
