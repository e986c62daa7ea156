{#
    One row per known source: whether this deployment has it, the last successful load, the latest
    attempt and whether the source is stale. A configured source is stale when its latest finished
    attempt failed or it never loaded (a source named in the settings but unreachable from the first
    night is stale from the start); a source that is not configured is never stale: its status says
    "tidak dikonfigurasi" and the marts that need it are empty for that reason. stale_since is the
    first failed attempt after the last success. records_loaded_last is what the last successful
    attempt loaded (for file sources: the sum over that run's files).
#}

with configuration as (

    select * from {{ ref('stg_ops__source_configuration') }}

),

attempts as (

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
        configuration.source,
        configuration.source_label,
        configuration.is_configured,
        configuration.configured_by,
        last_success.last_loaded_at,
        last_attempt.last_attempt_at,
        last_attempt.last_attempt_status,
        coalesce(records_last.records_loaded_last, 0) as records_loaded_last,
        configuration.is_configured
            and (last_success.last_loaded_at is null or last_attempt.last_attempt_status = 'failed') as is_stale,
        case
            when configuration.is_configured and last_attempt.last_attempt_status = 'failed'
                then first_failure_after_success.stale_since
        end as stale_since,
        round((extract(epoch from now() - last_success.last_loaded_at) / 86400)::numeric, 2) as days_since_last_load,
        {#- judged unrounded: a limit below a day (or 3 days and 4 minutes) is not hidden by the rounding -#}
        extract(epoch from now() - last_success.last_loaded_at) / 86400 as exact_days_since_last_load,
        {{ env_var('KONVERGENSI_MAX_STALE_DAYS', '3') }}::numeric as max_stale_days
    from configuration
    left join last_attempt on last_attempt.source = configuration.source
    left join last_success on last_success.source = configuration.source
    left join records_last on records_last.source = configuration.source
    left join first_failure_after_success on first_failure_after_success.source = configuration.source

),

judged as (

    select
        *,
        is_configured
            and (last_loaded_at is null or (is_stale and exact_days_since_last_load > max_stale_days)) as exceeds_max_staleness
    from freshness

)

select
    source,
    source_label,
    is_configured,
    configured_by,
    case
        when not is_configured then 'tidak dikonfigurasi'
        when last_loaded_at is null and last_attempt_at is null then 'belum pernah dikirim'
        when last_loaded_at is null then 'belum pernah berhasil dimuat'
        when is_stale then 'basi'
        else 'mutakhir'
    end::text as source_status,
    case
        when not is_configured
            then 'tidak dikonfigurasi: sumber ini tidak ada dalam KONVERGENSI_SOURCES; mart yang memerlukannya kosong'
        when last_loaded_at is null and last_attempt_at is null
            then 'dikonfigurasi tetapi belum pernah mengirim data'
        when last_loaded_at is null
            then 'dikonfigurasi tetapi setiap upaya pemuatan gagal sejak malam pertama'
        when is_stale
            then 'upaya terakhir gagal; mart memakai data sebelumnya'
    end::text as status_reason,
    last_loaded_at,
    last_attempt_at,
    last_attempt_status,
    records_loaded_last,
    is_stale,
    stale_since,
    days_since_last_load,
    max_stale_days,
    exceeds_max_staleness
from judged
