{#
    Weight-for-length (45.0–110.0 cm, children under 731 days) and weight-for-height (65.0–120.0 cm,
    from 731 days) stacked, keyed by integer tenths of a centimetre. Each row also carries the step of
    L, M and S to the next 0.1 cm row, so that interpolating between floor(x·10)/10 and the next row is
    one equi-join on (sex, stature_measure, stature_tenths) and `l + fraction × l_step`. The last row of
    each table has steps 0 and is_last_row: it is only valid for a length exactly on it.
#}

{#-
    Analysed as soon as it is built: the z-score model joins every measurement to this table, and
    without statistics the planner guesses its size from its pages and may sort a million rows to
    merge-join them instead of hashing this small table (autovacuum analyses it only later).
-#}
{{ config(post_hook='analyze {{ this }}') }}

with weight_for_length as (

    select
        sex,
        'length' as stature_measure,
        round(length * 10)::integer as stature_tenths,
        l,
        m,
        s
    from {{ ref('who_wflanthro') }}

),

weight_for_height as (

    select
        sex,
        'height' as stature_measure,
        round(height * 10)::integer as stature_tenths,
        l,
        m,
        s
    from {{ ref('who_wfhanthro') }}

),

weight_for_stature as (

    select * from weight_for_length
    union all
    select * from weight_for_height

),

with_steps as (

    select
        case this_row.sex when 1 then 'L' when 2 then 'P' end as sex,
        this_row.stature_measure,
        this_row.stature_tenths,
        this_row.l,
        this_row.m,
        this_row.s,
        coalesce(next_row.l - this_row.l, 0) as l_step,
        coalesce(next_row.m - this_row.m, 0) as m_step,
        coalesce(next_row.s - this_row.s, 0) as s_step,
        next_row.sex is null as is_last_row
    from weight_for_stature as this_row
    left join weight_for_stature as next_row
        on next_row.sex = this_row.sex
        and next_row.stature_measure = this_row.stature_measure
        and next_row.stature_tenths = this_row.stature_tenths + 1

)

select * from with_steps
