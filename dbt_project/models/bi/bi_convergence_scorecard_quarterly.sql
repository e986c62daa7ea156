{#
    Convergence scorecard levels per kelurahan, kecamatan and kota and quarter (docs/scorecard.md), from
    the kelurahan rows of mart_convergence_scorecard: the targets (women, children 0–23 and 2–6 months),
    the answers due and those answered Y, summed upwards, with small cells suppressed (docs/privacy.md).
    A Y count is hidden when it or what it leaves of its due count (the T answers) is 1–4. A level is
    published only when its Y and due counts are; the combined level only when all four are.
#}

{%- set measures = ['women_targets', 'children_0_23_targets', 'children_2_6_targets',
                    'women_due', 'women_y', 'children_due', 'children_y'] %}

with kelurahan_rows as (

    select quarter_start, wilayah_code as kelurahan_code, {{ measures | join(', ') }}
    from {{ ref('mart_convergence_scorecard') }}
    where wilayah_level = 'kelurahan'

),

quarters as (

    select quarter_start, min(quarter) as quarter, bool_or(is_partial_quarter) as is_partial_quarter
    from {{ ref('mart_convergence_scorecard') }}
    group by quarter_start

),

{{ bi_wilayah_rollup('kelurahan_rows', ['quarter_start'], measures) }},

cells as (

    select quarter_start, cell.measure, wilayah_level, wilayah_code, parent_level, parent_code, cell.value, cell.is_primary
    from bi_levels
    cross join lateral (values
        ('women_targets', women_targets, {{ bi_small('women_targets') }}),
        ('children_0_23_targets', children_0_23_targets, {{ bi_small('children_0_23_targets') }}),
        ('children_2_6_targets', children_2_6_targets, {{ bi_small('children_2_6_targets') }}),
        ('women_due', women_due, {{ bi_small('women_due') }}),
        ('women_y', women_y, {{ bi_small('women_y') }} or {{ bi_small('women_due - women_y') }}),
        ('children_due', children_due, {{ bi_small('children_due') }}),
        ('children_y', children_y, {{ bi_small('children_y') }} or {{ bi_small('children_due - children_y') }})
    ) as cell (measure, value, is_primary)

),

{{ bi_suppress('cells', ['quarter_start']) }},

{{ bi_published(measures, ['quarter_start']) }}

select
    quarters.quarter,
    bi_published.quarter_start,
    quarters.is_partial_quarter,
    bi_published.wilayah_level,
    bi_published.wilayah_code,
    bi_published.wilayah_name,
    bi_published.parent_wilayah_code,
    bi_published.women_targets::integer as women_targets,
    bi_published.children_0_23_targets::integer as children_0_23_targets,
    bi_published.children_2_6_targets::integer as children_2_6_targets,
    bi_published.women_due::integer as women_due,
    bi_published.women_y::integer as women_y,
    round(100.0 * women_y / nullif(women_due, 0), 1)::numeric(4, 1) as women_level,
    bi_published.children_due::integer as children_due,
    bi_published.children_y::integer as children_y,
    round(100.0 * children_y / nullif(children_due, 0), 1)::numeric(4, 1) as children_level,
    round(100.0 * (women_y + children_y) / nullif(women_due + children_due, 0), 1)::numeric(4, 1) as combined_level,
    bi_published.suppressed_cells::integer as suppressed_cells
from bi_published
inner join quarters
    on quarters.quarter_start = bi_published.quarter_start
