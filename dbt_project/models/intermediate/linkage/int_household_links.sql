{#
    One row per record of every source with the household it links to. The strongest method that
    found any candidate decides (exact keys before fallbacks, see link_method_rank); when that method
    found two or more distinct households the record is 'ambiguous' and stays unlinked — a weaker
    method is not asked to break the tie. Records no method reached are 'unlinked'.
#}

with candidates as (

    select * from {{ ref('int_household_link_candidates') }}

),

best_rank as (

    select
        record_source,
        record_id,
        kelurahan_code,
        min(method_rank) as best_method_rank
    from candidates
    group by record_source, record_id, kelurahan_code

),

best_candidates as (

    select
        best_rank.record_source,
        best_rank.record_id,
        best_rank.kelurahan_code,
        min(candidates.link_method) as best_method,
        count(distinct candidates.household_key) as candidate_households,
        min(candidates.household_key) as only_household_key
    from best_rank
    left join candidates
        on candidates.record_source = best_rank.record_source
        and candidates.record_id = best_rank.record_id
        and candidates.method_rank = best_rank.best_method_rank
    group by best_rank.record_source, best_rank.record_id, best_rank.kelurahan_code

),

links as (

    select
        record_source,
        record_id,
        kelurahan_code,
        case when candidate_households = 1 then only_household_key end as household_key,
        case
            when candidate_households = 0 then 'unlinked'
            when candidate_households > 1 then 'ambiguous'
            else best_method
        end as link_method,
        candidate_households
    from best_candidates

)

select * from links
