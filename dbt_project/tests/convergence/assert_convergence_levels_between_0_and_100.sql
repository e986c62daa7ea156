-- Convergence levels are percentages: between 0 and 100 when something is due, null exactly when
-- nothing is due (denominator 0), and the numerator never exceeds the denominator.
select wilayah_level, wilayah_code, quarter_start, 'women' as level_name, women_level as level, women_due as due
from {{ ref('mart_convergence_scorecard') }}
where women_level not between 0 and 100 or (women_level is null) <> (women_due = 0) or women_y > women_due
union all
select wilayah_level, wilayah_code, quarter_start, 'children', children_level, children_due
from {{ ref('mart_convergence_scorecard') }}
where children_level not between 0 and 100 or (children_level is null) <> (children_due = 0)
    or children_y > children_due
union all
select wilayah_level, wilayah_code, quarter_start, 'combined', combined_level, combined_due
from {{ ref('mart_convergence_scorecard') }}
where combined_level not between 0 and 100 or (combined_level is null) <> (combined_due = 0)
