{#
    analyst_key(expression, domain): the keyed pseudonym (HMAC-SHA256, RFC 2104, hex, 128 bits) under
    which a person or record appears in the analyst marts. The key is derived from the pseudonym key
    (konvergensi.pseudonyms.analyst_hmac_pads) and reaches the dbt session only as two session settings
    set through PGOPTIONS by settings.dbt_env, so it is never written into compiled SQL, logs or the
    catalogue. A build without them fails ("unrecognized configuration parameter") instead of falling
    back to an unkeyed hash. `domain` separates the key spaces (a child key never equals a household key
    of the same input).
#}
{% macro analyst_key(expression, domain) -%}
    case when ({{ expression }}) is not null then left(encode(sha256(
        decode(current_setting('konvergensi.analyst_hmac_outer'), 'hex')
        || sha256(decode(current_setting('konvergensi.analyst_hmac_inner'), 'hex')
                  || convert_to('{{ domain }}:' || ({{ expression }})::text, 'UTF8'))
    ), 'hex'), 32) end
{%- endmacro %}
