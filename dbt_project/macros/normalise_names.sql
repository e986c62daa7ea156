{#
    Name normalisation for matching place and facility names across spellings: upper case, leading
    designators ("Kel.", "Kelurahan", "Puskesmas", ...) removed, every character that is not A–Z or 0–9
    removed. "Kel. Pasir Kraton Kramat" and "PASIRKRATONKRAMAT" both become PASIRKRATONKRAMAT.
    An empty result is NULL (treated as a missing name).
#}
{% macro normalise_name(expression, leading_words) -%}
    nullif(
        regexp_replace(
            regexp_replace(upper(btrim({{ expression }})), '^(({{ leading_words | join("|") }})(\.|\s)+)+', ''),
            '[^A-Z0-9]', '', 'g'
        ),
        ''
    )
{%- endmacro %}

{% macro normalise_kelurahan_name(expression) -%}
    {{ normalise_name(expression, ['KELURAHAN', 'KEL', 'DESA']) }}
{%- endmacro %}

{% macro normalise_puskesmas_name(expression) -%}
    {{ normalise_name(expression, ['UPTD', 'UPT', 'PUSKESMAS', 'PKM']) }}
{%- endmacro %}

{% macro normalise_posyandu_name(expression) -%}
    {{ normalise_name(expression, ['POSYANDU', 'PSY']) }}
{%- endmacro %}
