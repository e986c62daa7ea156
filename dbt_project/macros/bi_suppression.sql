{#
    Small-cell suppression for the BI marts (docs/privacy.md), implemented once and used by every BI model.

    bi_small(expression): true when a count is 1–4. A zero is published (it names no child).

    bi_suppress(cells, partition_by, passes): CTEs ending in `suppressed`, from `cells` — one row per
    published count in long form, with the columns
        <partition_by…>, measure, wilayah_level, wilayah_code, parent_level, parent_code, value, is_primary
    where (parent_level, parent_code) is the row the value adds up into (null at the top, or for a table
    without totals) and is_primary says the cell itself must be hidden (bi_small of the count or of a
    count derivable from the row, e.g. denominator − numerator).

    Complementary suppression: every published sum is a group — the parent row and its child rows of one
    measure in one partition (month, factor, …). A group with exactly one hidden member would give it
    away by subtraction (parent − visible children, or the sum of the children when the parent is the
    hidden one). So, pass after pass, each such group hides one more member: its smallest visible child,
    non-zero counts first (a hidden zero protects little), and the parent only when no child is visible.
    Hiding a member can leave another group (the one above or below) with a single hidden member, so the
    passes repeat; `passes` is more than the hierarchy kelurahan → kecamatan → kota ever needs, and the
    generic test bi_no_lone_suppressed_cell checks on the published table that the fixpoint was reached.
    suppression is 'primary', 'complementary' or null (published).
#}
{% macro bi_small(expression) -%}
    coalesce(({{ expression }}) between 1 and 4, false)
{%- endmacro %}

{% macro bi_suppress(cells, partition_by, passes=6) -%}
{%- set keys = (partition_by + ['measure']) | join(', ') -%}
bi_pass_0 as (

    select
        {{ keys }}, wilayah_level, wilayah_code, parent_level, parent_code, value,
        is_primary as is_hidden,
        case when is_primary then 'primary' end as suppression
    from {{ cells }}

),
{%- for n in range(1, passes + 1) %}

bi_members_{{ n }} as (

    select {{ keys }}, parent_level as group_level, parent_code as group_code,
           wilayah_level, wilayah_code, value, is_hidden, false as is_parent
    from bi_pass_{{ n - 1 }}
    where parent_code is not null
    union all
    select {{ keys }}, wilayah_level, wilayah_code,
           wilayah_level, wilayah_code, value, is_hidden, true
    from bi_pass_{{ n - 1 }}

),

bi_lone_{{ n }} as (

    select {{ keys }}, group_level, group_code
    from bi_members_{{ n }}
    group by {{ keys }}, group_level, group_code
    having count(*) filter (where is_parent) = 1
        and count(*) filter (where not is_parent) > 0
        and count(*) filter (where is_hidden) = 1

),

bi_picks_{{ n }} as (

    select distinct {{ keys }}, wilayah_level, wilayah_code
    from (
        select
            {{ keys }}, wilayah_level, wilayah_code,
            row_number() over (
                partition by {{ keys }}, group_level, group_code
                order by is_parent, value = 0, value, wilayah_code
            ) as pick_rank
        from bi_members_{{ n }}
        inner join bi_lone_{{ n }} using ({{ keys }}, group_level, group_code)
        where not is_hidden
    ) as ranked
    where pick_rank = 1

),

bi_pass_{{ n }} as (

    select
        {{ keys }}, wilayah_level, wilayah_code, parent_level, parent_code, value,
        previous.is_hidden or picked.wilayah_code is not null as is_hidden,
        case
            when previous.is_hidden then previous.suppression
            when picked.wilayah_code is not null then 'complementary'
        end as suppression
    from bi_pass_{{ n - 1 }} as previous
    left join bi_picks_{{ n }} as picked using ({{ keys }}, wilayah_level, wilayah_code)

),
{%- endfor %}

suppressed as (

    select {{ keys }}, wilayah_level, wilayah_code, value, is_hidden, suppression
    from bi_pass_{{ passes }}

)
{%- endmacro %}

{#
    Generic test: no group of a published BI table has exactly one hidden (null) member of a count column.
    Groups: kelurahan rows under their kecamatan row, kecamatan rows under the kota row, per partition.
#}
{% test bi_no_lone_suppressed_cell(model, measures, partition_by) -%}
{%- set part = partition_by | join(', ') -%}
with rows_ as (
    select {{ part }}, wilayah_level, wilayah_code, parent_wilayah_code,
        case wilayah_level when 'kelurahan' then 'kecamatan' when 'kecamatan' then 'kota' end as parent_level
        {%- for m in measures %}, {{ m }} is null as hidden_{{ m }}{% endfor %}
    from {{ model }}
),
members as (
    select {{ part }}, parent_level as group_level, parent_wilayah_code as group_code, false as is_parent
        {%- for m in measures %}, hidden_{{ m }}{% endfor %}
    from rows_ where parent_wilayah_code is not null
    union all
    select {{ part }}, wilayah_level, wilayah_code, true
        {%- for m in measures %}, hidden_{{ m }}{% endfor %}
    from rows_
),
groups_ as (
    select {{ part }}, group_level, group_code
        {%- for m in measures %}, count(*) filter (where hidden_{{ m }}) as lone_{{ m }}{% endfor %}
    from members
    group by {{ part }}, group_level, group_code
    having count(*) filter (where is_parent) = 1 and count(*) filter (where not is_parent) > 0
)
select * from groups_
where {% for m in measures %}lone_{{ m }} = 1{% if not loop.last %} or {% endif %}{% endfor %}
{%- endtest %}

{#
    bi_wilayah_rollup(kelurahan_rows, partition_by, measures): CTE `bi_levels` — the kelurahan rows of
    `kelurahan_rows` (columns kelurahan_code, <partition_by…>, <measures…>) with their kecamatan and kota
    rows summed from them, so every parent is exactly the sum of its published children. Each row carries
    its wilayah name and the parent it adds up into (parent_level, parent_code).
#}
{% macro bi_wilayah_rollup(kelurahan_rows, partition_by, measures) -%}
{%- set part = partition_by | join(', ') -%}
bi_wilayah as (

    select kelurahan_code, kelurahan_name, kecamatan_code, kecamatan_name, city_code, city_name
    from {{ ref('dim_wilayah') }}

),

bi_kelurahan as (

    select
        {% for p in partition_by %}rows_.{{ p }}, {% endfor %}
        coalesce(bi_wilayah.kelurahan_code, 'UNKNOWN') as kelurahan_code,
        coalesce(bi_wilayah.kelurahan_name, 'UNKNOWN') as kelurahan_name,
        coalesce(bi_wilayah.kecamatan_code, 'UNKNOWN') as kecamatan_code,
        coalesce(bi_wilayah.kecamatan_name, 'UNKNOWN') as kecamatan_name,
        coalesce(bi_wilayah.city_code, (select min(city_code) from bi_wilayah)) as city_code,
        coalesce(bi_wilayah.city_name, (select min(city_name) from bi_wilayah)) as city_name
        {%- for m in measures %},
        coalesce(rows_.{{ m }}, 0)::bigint as {{ m }}
        {%- endfor %}
    from {{ kelurahan_rows }} as rows_
    left join bi_wilayah
        on bi_wilayah.kelurahan_code = rows_.kelurahan_code

),

bi_levels as (

    select {{ part }}, 'kelurahan'::text as wilayah_level, kelurahan_code as wilayah_code,
           kelurahan_name as wilayah_name, 'kecamatan'::text as parent_level, kecamatan_code as parent_code
           {%- for m in measures %}, {{ m }}{% endfor %}
    from bi_kelurahan
    union all
    select {{ part }}, 'kecamatan', kecamatan_code, min(kecamatan_name), 'kota', min(city_code)
           {%- for m in measures %}, sum({{ m }})::bigint{% endfor %}
    from bi_kelurahan
    group by {{ part }}, kecamatan_code
    union all
    select {{ part }}, 'kota', city_code, min(city_name), null, null
           {%- for m in measures %}, sum({{ m }})::bigint{% endfor %}
    from bi_kelurahan
    group by {{ part }}, city_code

)
{%- endmacro %}

{#
    bi_published(measures, partition_by): CTE `bi_published` — `bi_levels` with each measure replaced by its
    published value (null when suppressed) and suppressed_cells, the number of hidden counts in the row.
#}
{% macro bi_published(measures, partition_by) -%}
{%- set keys = partition_by | join(', ') -%}
bi_published_values as (

    select
        {{ keys }}, wilayah_level, wilayah_code
        {%- for m in measures %},
        max(value) filter (where measure = '{{ m }}' and not is_hidden) as {{ m }}
        {%- endfor %},
        count(*) filter (where is_hidden) as suppressed_cells
    from suppressed
    group by {{ keys }}, wilayah_level, wilayah_code

),

bi_published as (

    select
        {% for p in partition_by %}bi_levels.{{ p }}, {% endfor %}
        bi_levels.wilayah_level, bi_levels.wilayah_code, bi_levels.wilayah_name,
        bi_levels.parent_code as parent_wilayah_code
        {%- for m in measures %},
        published.{{ m }}
        {%- endfor %},
        published.suppressed_cells
    from bi_levels
    inner join bi_published_values as published
        using ({{ keys }}, wilayah_level, wilayah_code)

)
{%- endmacro %}
