{#
    WHO Child Growth Standards arithmetic (see docs/anthropometry.md). Every macro returns a
    plain SQL expression so that the z-scores are computed set-based, row by row, inside one query.
#}

{# Box-Cox (LMS) z-score: ((y/M)^L − 1) / (S·L), or ln(y/M)/S when L = 0. NULL unless y > 0. #}
{% macro lms_zscore(measure, l, m, s) -%}
    case when {{ measure }} > 0 then
        case
            when {{ l }} = 0 then ln({{ measure }} / {{ m }}) / {{ s }}
            else (power({{ measure }} / {{ m }}, {{ l }}) - 1) / ({{ s }} * {{ l }})
        end
    end
{%- endmacro %}

{# The measurement that lies k standard deviations from the median: SD(k) = M·(1 + L·S·k)^(1/L). #}
{% macro lms_measure_at(k, l, m, s) -%}
    (case
        when {{ l }} = 0 then {{ m }} * exp({{ s }} * ({{ k }}))
        else {{ m }} * power(1 + {{ l }} * {{ s }} * ({{ k }}), 1 / {{ l }})
    end)
{%- endmacro %}

{#
    WHO restricted rule for the weight-based indices (WAZ, WHZ, BAZ): beyond ±3 the distance is measured
    in units of the SD(±3) − SD(±2) gap of the measurement itself, not on the skewed LMS scale.
    `zscore` is the unrestricted LMS z-score of `measure`.
#}
{% macro restricted_zscore(zscore, measure, l, m, s) -%}
    case
        when {{ zscore }} > 3 then 3 + ({{ measure }} - {{ lms_measure_at(3, l, m, s) }})
            / ({{ lms_measure_at(3, l, m, s) }} - {{ lms_measure_at(2, l, m, s) }})
        when {{ zscore }} < -3 then -3 + ({{ measure }} - {{ lms_measure_at(-3, l, m, s) }})
            / ({{ lms_measure_at(-2, l, m, s) }} - {{ lms_measure_at(-3, l, m, s) }})
        else {{ zscore }}
    end
{%- endmacro %}

{# WHO biologically implausible value: outside [lower, upper]. NULL when there is no z-score. #}
{% macro implausible_zscore_flag(zscore, lower, upper) -%}
    ({{ zscore }} < {{ lower }} or {{ zscore }} > {{ upper }})
{%- endmacro %}

{# Permenkes No. 2/2020 categories; lower bounds inclusive (z = −2 is normal, z = −3 is pendek). #}
{% macro height_for_age_category(zscore) -%}
    case
        when {{ zscore }} < -3 then 'sangat pendek'
        when {{ zscore }} < -2 then 'pendek'
        when {{ zscore }} <= 3 then 'normal'
        when {{ zscore }} > 3 then 'tinggi'
    end
{%- endmacro %}

{% macro weight_for_age_category(zscore) -%}
    case
        when {{ zscore }} < -3 then 'berat badan sangat kurang'
        when {{ zscore }} < -2 then 'berat badan kurang'
        when {{ zscore }} <= 1 then 'berat badan normal'
        when {{ zscore }} > 1 then 'risiko berat badan lebih'
    end
{%- endmacro %}

{# Shared by weight-for-length/height (BB/TB) and BMI-for-age (IMT/U). #}
{% macro nutritional_status_category(zscore) -%}
    case
        when {{ zscore }} < -3 then 'gizi buruk'
        when {{ zscore }} < -2 then 'gizi kurang'
        when {{ zscore }} <= 1 then 'gizi baik'
        when {{ zscore }} <= 2 then 'berisiko gizi lebih'
        when {{ zscore }} <= 3 then 'gizi lebih'
        when {{ zscore }} > 3 then 'obesitas'
    end
{%- endmacro %}

{#
    The warehouse keeps full precision. Unit tests compare at the 2 decimals of the published test values
    by setting the var `unit_test_decimals`; without it this macro returns the expression unchanged.
#}
{% macro rounded_in_unit_tests(expression) -%}
    {%- set decimals = var('unit_test_decimals', none) -%}
    {%- if decimals is none -%}
        {{ expression }}
    {%- else -%}
        round(({{ expression }})::numeric, {{ decimals }})::double precision
    {%- endif -%}
{%- endmacro %}

{#
    The one cut-off of stunting (HAZ), wasting (WHZ) and underweight (WAZ): the z-score below −2 SD.
    True or false for a plausible z-score; null when it is flagged implausible or missing, so a caller
    that counts or filters treats such a measurement as not below, and one that reports a status as
    unknown. `index` is haz, whz or waz; its flag is the column `<index>_flag` beside it.
#}
{% macro below_minus_2_sd(index) -%}
    case when not {{ index }}_flag then {{ index }} < -2 end
{%- endmacro %}

{#
    How long a nutritional status lasts without a new valid measurement (docs/scorecard.md): an index's
    latest valid z-score holds in the month it was measured and the `status_carry_forward_months`
    months after it (default 6: length is measured about twice a year, in the February and August
    weighing months), then the status is unknown. `measured_on` is the measurement date and
    `month_start` the first day of the month whose status is wanted.
#}
{% macro within_status_window(measured_on, month_start) -%}
    ({{ measured_on }} >= ({{ month_start }} - interval '{{ var("status_carry_forward_months", 6) }} months')::date)
{%- endmacro %}
