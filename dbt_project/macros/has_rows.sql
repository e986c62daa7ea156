{#
    Generic test: the model has at least one row. The consumption marts built from the e-PPGBM
    measurements are never empty on a night whose measurements loaded; an empty one would publish
    blank dashboards as if the city had no children.
#}
{% test has_rows(model) -%}
select 'no rows' as problem
where not exists (select 1 from {{ model }})
{%- endtest %}
