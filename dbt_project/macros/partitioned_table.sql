{#
    materialized='partitioned_table', partition_by_month='<date column>': a table partitioned by range of
    that column's month (PostgreSQL declarative partitioning), one partition per month present, named
    <table>_YYYY_MM. Issue 9: the fact tables are partitioned by month like the raw e-PPGBM rows.

    Built as dbt builds a table (aside, then renamed over the old one in one transaction), with the
    model's enforced contract: the columns, types and constraints of its YAML (a primary key must
    include the month column: PostgreSQL enforces uniqueness per partition). The rows are computed once
    into a temporary table, which says which months need a partition; then the partitioned table and
    its partitions are created and filled from it. After the old table is gone its partitions' names
    are free, and the new ones take them (they were built under the intermediate table's name). Each
    partition carries the table's comments, so a reader listing the schema finds every table described.
#}
{% materialization partitioned_table, adapter='postgres' %}
    {%- set month_column = config.require('partition_by_month') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(target_relation, 'table') -%}
    {%- set rows_relation = make_temp_relation(target_relation, '__rows') -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if config.get('contract').enforced %}
        {{ get_assert_columns_equivalent(sql) }}
    {%- endif %}
    {% call statement('rows') -%}
        create temporary table {{ rows_relation }} as ({{ sql }})
    {%- endcall %}
    {% set months = run_query(
        "select distinct to_char(date_trunc('month', " ~ adapter.quote(month_column) ~ "), 'YYYY-MM-DD') from "
        ~ rows_relation ~ " order by 1").columns[0].values() %}

    {% call statement('main') -%}
        create table {{ intermediate_relation }}
        {{ get_table_columns_and_constraints() }}
        partition by range ({{ adapter.quote(month_column) }});
        {% for month in months -%}
        create table {{ partition_relation(intermediate_relation, month) }}
            partition of {{ intermediate_relation }}
            for values from ('{{ month }}') to (('{{ month }}'::date + interval '1 month')::date);
        {% endfor -%}
        insert into {{ intermediate_relation }} ({{ adapter.dispatch('get_column_names', 'dbt')() }})
        select {{ adapter.dispatch('get_column_names', 'dbt')() }} from {{ rows_relation }};
        drop table {{ rows_relation }}
    {%- endcall %}

    {% if existing_relation is not none %}
        {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
    {% do persist_docs(target_relation, model) %}
    {% if months %}
        {% call statement('partition_docs') -%}
            {{ copy_comments_to_partitions(target_relation) }}
        {%- endcall %}
    {% endif %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}

    {% if months %}
        {% call statement('partition_names') -%}
            {% for month in months -%}
            alter table {{ partition_relation(intermediate_relation, month) }}
                rename to {{ partition_relation(target_relation, month).identifier }};
            {% endfor -%}
        {%- endcall %}
        {{ adapter.commit() }}
    {% endif %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro partition_relation(relation, month) -%}
    {{ return(relation.incorporate(path={'identifier': relation.identifier ~ '_' ~ month[:7] | replace('-', '_')})) }}
{%- endmacro %}


{% macro copy_comments_to_partitions(relation) -%}
    {%- set parent = relation.include(database=False) -%}
    do $$
    declare
        part regclass;
        col record;
    begin
        for part in select inhrelid::regclass from pg_inherits where inhparent = '{{ parent }}'::regclass loop
            execute format('comment on table %s is %L', part,
                coalesce(obj_description('{{ parent }}'::regclass, 'pg_class') || ' ', '') || 'One month''s partition.');
            for col in
                select a.attname, col_description(a.attrelid, a.attnum) as comment
                from pg_attribute as a
                where a.attrelid = '{{ parent }}'::regclass and a.attnum > 0 and not a.attisdropped
                  and col_description(a.attrelid, a.attnum) is not null
            loop
                execute format('comment on column %s.%I is %L', part, col.attname, col.comment);
            end loop;
        end loop;
    end $$
{%- endmacro %}
