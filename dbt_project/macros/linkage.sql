{#
    Matching helpers for the convergence linkage (docs/linkage.md). They return plain SQL expressions;
    the ones that read personal text (names, addresses, RT/RW) are only used in models/identity/.
#}

{# Person name for matching: upper case, common titles dropped, only letters kept. NULL if empty. #}
{% macro normalise_person_name(expression) -%}
    nullif(
        regexp_replace(
            regexp_replace(upper(btrim({{ expression }})), '^((NY|NYONYA|TN|TUAN|SDR|SDRI|BY|BAYI|AN|ANAK)(\.|\s)+)+', ''),
            '[^A-Z]', '', 'g'
        ),
        ''
    )
{%- endmacro %}

{#
    Street address for matching. Spelling variants of the usual Indonesian abbreviations are folded
    to one form before every non-alphanumeric character is dropped: "Jalan"/"Jln."/"Jl" → JL,
    "Gang"/"Gg." → GG, "Blok"/"Blk" → BLK. "Nomor"/"No." is dropped ("Gg. Mawar No. 7" and
    "Gang Mawar 7" are the same house). RT/RW written inside the address are removed (they are
    matched from their own columns). NULL if nothing remains.
#}
{% macro normalise_address(expression) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace(
                                ' ' || upper({{ expression }}) || ' ',
                                '\m(RT|RW)[\s.:/]*\d+', ' ', 'g'),
                            '\m(JALAN|JLN|JL)\M\.?', ' JL ', 'g'),
                        '\m(GANG|GG)\M\.?', ' GG ', 'g'),
                    '\m(NOMOR|NOMER|NO)\M\.?', ' ', 'g'),
                '\m(BLOK|BLK)\M\.?', ' BLK ', 'g'),
            '[^A-Z0-9]', '', 'g'
        ),
        ''
    )
{%- endmacro %}

{# RT or RW number without leading zeros or decoration: "003", "RT 3", "3" → "3". NULL if no digit. #}
{% macro normalise_rt_rw(expression) -%}
    nullif(ltrim(regexp_replace(coalesce({{ expression }}, ''), '[^0-9]', '', 'g'), '0'), '')
{%- endmacro %}

{# Kelurahan code for a name: the kelurahan_names crosswalk alias, 'UNKNOWN' when nothing matched. #}
{% macro kelurahan_code_or_unknown(code_expression) -%}
    coalesce({{ code_expression }}, 'UNKNOWN')
{%- endmacro %}

{#
    32-hex surrogate key of the given parts (md5 of the parts joined with '|', null parts as '').
    Only for keys built from identifiers that are not personal (record ids, codes, dates).
#}
{% macro surrogate_key(parts) -%}
    md5({% for part in parts %}coalesce(({{ part }})::text, ''){{ " || '|' || " if not loop.last }}{% endfor %})
{%- endmacro %}

{#
    Order of preference of the link methods: lower wins (exact keys before fallbacks). A person's NIK
    beats a KK: for an e-PPGBM child the mother's NIK (she is a resident member of exactly the DTSEN
    household she lives in now) ranks above the plain KK number typed into e-PPGBM, which is often the
    grandparents' card or a card replaced since.
#}
{% macro link_method_rank(method) -%}
    case {{ method }}
        when 'nik' then 1
        when 'dtsen_member_nik' then 1
        when 'kk' then 2
        when 'mother_nik' then 3
        when 'wife_nik' then 3
        when 'eppgbm_kk' then 4
        when 'name_birthdate_kelurahan' then 5
        when 'address_rt_rw_kelurahan' then 6
        when 'address_own_kk' then 7
        when 'own_kk' then 8
        else 99
    end
{%- endmacro %}

{# DTSEN drinking-water ladder from the 306a mapping of ref_regsosek_codes; 'unknown' when unmapped. #}
{% macro regsosek_water_ladder(mapped_ladder) -%}
    coalesce({{ mapped_ladder }}, 'unknown')
{%- endmacro %}

{#
    DTSEN sanitation ladder from 309a (sharing), 309b (goose-neck) and 310 (septic tank / IPAL).
    DTSEN cannot see whether a tank is emptied and treated, so 'aman' is never derived from it.
    No facility (or one not used) → BABS; goose-neck into septic tank/IPAL → layak sendiri when own,
    layak bersama when shared with given households or a communal MCK; public MCK or anything else
    → belum layak; a missing code → unknown.
#}
{% macro regsosek_sanitation_ladder(facility_sharing, is_goose_neck, is_safe_disposal) -%}
    case
        when {{ facility_sharing }} = 'none' then 'BABS'
        when {{ facility_sharing }} is null then 'unknown'
        when {{ is_goose_neck }} is false or {{ is_safe_disposal }} is false then 'belum layak'
        when {{ is_goose_neck }} is null or {{ is_safe_disposal }} is null then 'unknown'
        when {{ facility_sharing }} = 'own' then 'layak sendiri'
        when {{ facility_sharing }} = 'shared' then 'layak bersama'
        else 'belum layak'
    end
{%- endmacro %}
