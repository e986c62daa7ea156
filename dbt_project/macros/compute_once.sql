{#
    Appended to a SELECT inside a CTE: "UNION ALL" an empty row set with the same number of columns.

    PostgreSQL inlines CTEs and simple subqueries into the query that uses them and then evaluates a
    computed column once for every reference to it further up (it has no common-subexpression
    elimination), so a z-score referenced by the restricted rule, the category and the flag would be
    computed five or six times per row. A UNION ALL subquery is planned as an append relation instead:
    its columns are computed once per row and referenced as plain values above. Unlike the usual
    "OFFSET 0" fence, the plan stays parallel (the whole query runs in parallel workers).
    The result is unchanged: the second branch never returns a row. column_count must equal the
    number of columns of the SELECT (PostgreSQL rejects the query otherwise).
#}
{% macro compute_once(column_count) -%}
    union all
    select {% for _ in range(column_count) %}null{{ ', ' if not loop.last }}{% endfor %}
    where false
{%- endmacro %}
