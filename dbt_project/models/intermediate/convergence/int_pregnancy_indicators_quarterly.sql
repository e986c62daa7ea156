{#
    Scorecard answers for pregnant women, one row per pregnancy × evaluation point × indicator
    (IBU_01 … IBU_08, docs/scorecard.md). The rows with is_quarter_cutoff are the quarter's scorecard.
    Which pregnancies are targets, and what counts as evidence for them, is int_pregnancy_evidence_quarterly.
#}

with evidence as (

    select * from {{ ref('int_pregnancy_evidence_quarterly') }}

),

answers as (

    select
        evidence.pregnancy_key,
        evidence.mother_key,
        evidence.household_key,
        evidence.kelurahan_code,
        evidence.quarter,
        evidence.quarter_start,
        evidence.cutoff_date,
        evidence.is_quarter_cutoff,
        evidence.is_partial_quarter,
        'ibu_hamil' as target_group,
        answer.indicator_code,
        answer.answer,
        answer.evidence_count
    from evidence
    cross join lateral (
        values
            (
                'IBU_01',
                case
                    when gestational_weeks < 13 then 'TS'
                    when anc_visits >= greatest(scheduled_contacts, 1) then 'Y'
                    else 'T'
                end,
                anc_visits
            ),
            (
                'IBU_02',
                case
                    when gestational_weeks < 13 then 'TS'
                    when iron_tablets >= expected_tablets then 'Y'
                    else 'T'
                end,
                iron_tablets
            ),
            (
                'IBU_03',
                case
                    when postnatal_visits >= 3 then 'Y'
                    when is_delivered_by_cutoff and cutoff_date - delivery_date >= 42 then 'T'
                    else 'TS'
                end,
                postnatal_visits
            ),
            (
                'IBU_04',
                case
                    when gestational_weeks < 13 then 'TS'
                    when classes >= greatest(scheduled_contacts, 1) then 'Y'
                    else 'T'
                end,
                classes
            ),
            (
                'IBU_05',
                case
                    when not needs_monthly_visit or due_months = 0 then 'TS'
                    when visited_months = due_months then 'Y'
                    else 'T'
                end,
                visited_months
            ),
            (
                'IBU_06',
                case when has_improved_water then 'Y' when not has_improved_water then 'T' else 'TD' end,
                case when has_improved_water then 1 else 0 end
            ),
            (
                'IBU_07',
                case when has_proper_latrine then 'Y' when not has_proper_latrine then 'T' else 'TD' end,
                case when has_proper_latrine then 1 else 0 end
            ),
            (
                'IBU_08',
                case when insurance_records > 0 or has_dtsen_jkn then 'Y' else 'T' end,
                insurance_records + case when has_dtsen_jkn then 1 else 0 end
            )
    ) as answer (indicator_code, answer, evidence_count)

)

select
    pregnancy_key,
    mother_key,
    household_key,
    kelurahan_code,
    quarter,
    quarter_start,
    cutoff_date,
    is_quarter_cutoff,
    is_partial_quarter,
    target_group,
    indicator_code,
    answer,
    evidence_count::integer as evidence_count
from answers
