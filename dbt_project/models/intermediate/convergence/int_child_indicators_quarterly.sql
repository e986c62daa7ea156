{#
    Scorecard answers for children, one row per child × evaluation point × indicator (docs/scorecard.md):
    ANAK_01 … ANAK_10 for children 0–23 months (born by the cut-off, under 24 months on the quarter's
    first day) and PAUD_01 for children 24–71 months on the cut-off. The rows with is_quarter_cutoff are
    the quarter's scorecard; the other rows are the quarter-to-date answers at earlier month ends.

    "Monthly" indicators look at the due months: the quarter's months that have started by the cut-off,
    after the child's birth month and in which it is under 24 months on the first day; a month counts
    as covered only by a record dated on or before the cut-off. A child with no due month in the quarter
    (born in its last month) answers TS to them: nothing was due yet. Counts stated for a year or since
    birth accumulate from birth, not within the quarter.

    Person-level evidence (ANAK_08, ANAK_09) also comes from the child's own DTSEN member record, matched
    on nik_key = child_key: b411 = 1 (birth certificate) and b431a ∈ {1, 2, 4} (JKN: PBI, mandiri,
    employer). DTSEN member records are read as currently loaded. A household's PBI-JKN
    flag says that someone in the household is insured, not that this child is, so it is not evidence.
#}

with young_evidence as (

    select * from {{ ref('int_child_under_two_evidence_quarterly') }}

),

preschool_answers as (

    select * from {{ ref('int_preschool_answers_quarterly') }}

),

young_answers as (

    select
        young_evidence.child_key,
        young_evidence.household_key,
        young_evidence.kelurahan_code,
        young_evidence.quarter,
        young_evidence.quarter_start,
        young_evidence.cutoff_date,
        young_evidence.is_quarter_cutoff,
        young_evidence.is_partial_quarter,
        young_evidence.target_source,
        'anak_0_23' as target_group,
        answer.indicator_code,
        answer.answer,
        answer.evidence_count
    from young_evidence
    cross join lateral (
        values
            (
                'ANAK_01',
                case
                    when immunisation_records > 0 then 'Y'
                    when is_under_12_months then 'TS'
                    else 'T'
                end,
                immunisation_records
            ),
            (
                'ANAK_02',
                case
                    when due_months = 0 then 'TS'
                    when weighed_months = due_months then 'Y'
                    else 'T'
                end,
                weighed_months
            ),
            (
                'ANAK_03',
                case
                    when is_under_6_months then 'TS'
                    when length_records >= case when is_under_12_months then 1 else 2 end then 'Y'
                    else 'T'
                end,
                length_records
            ),
            (
                'ANAK_04',
                case
                    when due_months = 0 then 'TS'
                    when counselling_months = due_months then 'Y'
                    else 'T'
                end,
                counselling_months
            ),
            (
                'ANAK_05',
                case
                    when found_malnourished_on is null or visit_due_months = 0 then 'TS'
                    when visited_months = visit_due_months then 'Y'
                    else 'T'
                end,
                visited_months
            ),
            (
                'ANAK_06',
                case when has_improved_water then 'Y' when not has_improved_water then 'T' else 'TD' end,
                case when has_improved_water then 1 else 0 end
            ),
            (
                'ANAK_07',
                case when has_proper_latrine then 'Y' when not has_proper_latrine then 'T' else 'TD' end,
                case when has_proper_latrine then 1 else 0 end
            ),
            (
                'ANAK_08',
                case
                    when is_under_60_days then 'TS'
                    when birth_certificate_records > 0 or has_dtsen_birth_certificate then 'Y'
                    else 'T'
                end,
                birth_certificate_records + case when has_dtsen_birth_certificate then 1 else 0 end
            ),
            (
                'ANAK_09',
                case when insurance_records > 0 or has_dtsen_jkn then 'Y' else 'T' end,
                insurance_records + case when has_dtsen_jkn then 1 else 0 end
            ),
            (
                'ANAK_10',
                case
                    when is_under_6_months or due_months = 0 then 'TS'
                    when parenting_months = due_months then 'Y'
                    else 'T'
                end,
                parenting_months
            )
    ) as answer (indicator_code, answer, evidence_count)

),

all_answers as (

    select * from young_answers
    union all
    select
        child_key, household_key, kelurahan_code, quarter, quarter_start, cutoff_date, is_quarter_cutoff,
        is_partial_quarter, 'eppgbm' as target_source, target_group, indicator_code, answer, evidence_count
    from preschool_answers

)

select
    child_key,
    household_key,
    kelurahan_code,
    quarter,
    quarter_start,
    cutoff_date,
    is_quarter_cutoff,
    is_partial_quarter,
    target_source,
    target_group,
    indicator_code,
    answer,
    evidence_count::integer as evidence_count
from all_answers
