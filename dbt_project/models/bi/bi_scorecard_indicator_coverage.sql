{#
    City-wide coverage of each convergence scorecard indicator per quarter (the kota rows of
    mart_convergence_scorecard_indicators), for the public report and the dashboards: the targets, the
    answers due (targets − TS) and those answered Y, with small cells suppressed (docs/privacy.md). There
    are no totals over indicators, so only the primary rule applies: a count of 1–4 is hidden, and a Y
    count also when what it leaves of its due count (the T answers) is 1–4. The coverage is published only
    when its Y and due counts are. An indicator without data (no source configured) has no counts.
#}

with indicators as (

    select * from {{ ref('mart_convergence_scorecard_indicators') }}
    where wilayah_level = 'kota'

),

agencies as (

    select indicator_code, responsible_agency from {{ ref('ref_scorecard_indicators') }}

),

counts as (

    select
        quarter,
        quarter_start,
        is_partial_quarter,
        target_group,
        indicator_code,
        indicator_number,
        indicator_name,
        agencies.responsible_agency,
        has_data,
        targets,
        targets - ts_count as due,
        y_count
    from indicators
    left join agencies using (indicator_code)

)

select
    quarter::text as quarter,
    quarter_start::date as quarter_start,
    is_partial_quarter::boolean as is_partial_quarter,
    target_group::text as target_group,
    indicator_code::text as indicator_code,
    indicator_number::integer as indicator_number,
    indicator_name::text as indicator_name,
    responsible_agency::text as responsible_agency,
    has_data::boolean as has_data,
    case when not {{ bi_small('targets') }} then targets end::integer as targets,
    case when has_data and not {{ bi_small('due') }} then due end::integer as due,
    case when has_data and not ({{ bi_small('y_count') }} or {{ bi_small('due - y_count') }}) then y_count end::integer
        as y_count,
    case when has_data and not ({{ bi_small('y_count') }} or {{ bi_small('due - y_count') }} or {{ bi_small('due') }})
        then round(100.0 * y_count / nullif(due, 0), 1) end::numeric(4, 1) as coverage_pct
from counts
