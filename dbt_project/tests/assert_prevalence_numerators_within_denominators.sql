-- Every numerator of the prevalence mart fits in its denominator, and no denominator exceeds the
-- number of children measured.
select *
from {{ ref('mart_stunting_prevalence_monthly') }}
where stunted > haz_denominator
    or severely_stunted > stunted
    or wasted > whz_denominator
    or underweight > waz_denominator
    or haz_denominator > children_measured
    or whz_denominator > children_measured
    or waz_denominator > children_measured
