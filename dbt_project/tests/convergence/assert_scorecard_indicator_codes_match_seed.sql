{# The indicator codes of macro scorecard_indicator_codes() are those of the seed ref_scorecard_indicators: rows are the differences. #}

with listed as (

    {% for code in scorecard_indicator_codes() %}
    select '{{ code }}'::text as indicator_code{{ " union all" if not loop.last }}
    {% endfor %}

),

seeded as (

    select indicator_code from {{ ref('ref_scorecard_indicators') }}

)

select coalesce(listed.indicator_code, seeded.indicator_code) as indicator_code,
    listed.indicator_code is null as missing_from_macro
from listed
full join seeded on seeded.indicator_code = listed.indicator_code
where listed.indicator_code is null or seeded.indicator_code is null
