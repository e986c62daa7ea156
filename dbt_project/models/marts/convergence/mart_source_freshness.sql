{#
    One row per source: the last successful load, the latest attempt and whether the source is stale
    (its latest finished attempt failed). stale_since is the first failed attempt after the last
    success (or the first attempt ever, when the source never loaded). records_loaded_last is what the
    last successful attempt loaded (for file sources: the sum over that run's files).
#}

with attempts as (

    select * from {{ ref('stg_ops__load_attempts') }}
    where outcome <> 'running'

),

last_success as (

    select distinct on (source)
        source,
        attempted_at as last_loaded_at,
        run_id
    from attempts
    where outcome = 'succeeded'
    order by source, attempted_at desc, attempt_id desc

),

records_last as (

    select attempts.source, sum(attempts.records_loaded)::integer as records_loaded_last
    from attempts
    inner join last_success
        on last_success.source = attempts.source and last_success.run_id = attempts.run_id
    where attempts.outcome = 'succeeded'
    group by attempts.source

),

last_attempt as (

    select distinct on (source)
        source,
        attempted_at as last_attempt_at,
        outcome as last_attempt_status
    from attempts
    order by source, attempted_at desc, attempt_id desc

),

first_failure_after_success as (

    select attempts.source, min(attempts.attempted_at) as stale_since
    from attempts
    left join last_success on last_success.source = attempts.source
    where attempts.outcome = 'failed'
        and attempts.attempted_at > coalesce(last_success.last_loaded_at, '-infinity'::timestamptz)
    group by attempts.source

),

freshness as (

    select
        last_attempt.source,
        last_success.last_loaded_at,
        last_attempt.last_attempt_at,
        last_attempt.last_attempt_status,
        coalesce(records_last.records_loaded_last, 0) as records_loaded_last,
        last_attempt.last_attempt_status = 'failed' as is_stale,
        case when last_attempt.last_attempt_status = 'failed' then first_failure_after_success.stale_since end
            as stale_since,
        round((extract(epoch from now() - last_success.last_loaded_at) / 86400)::numeric, 2) as days_since_last_load,
        {{ env_var('KONVERGENSI_MAX_STALE_DAYS', '3') }}::numeric as max_stale_days
    from last_attempt
    left join last_success on last_success.source = last_attempt.source
    left join records_last on records_last.source = last_attempt.source
    left join first_failure_after_success on first_failure_after_success.source = last_attempt.source

)

select
    *,
    last_loaded_at is null
    or (is_stale and days_since_last_load > max_stale_days) as exceeds_max_staleness
from freshness
