{#
    Every load attempt of every source in one shape: pulled sources from ops.source_extracts, file
    sources (eppgbm, bkkbn) from ops.file_loads. A file load 'skipped' (same checksum already loaded)
    counts as a successful attempt that loaded nothing new; 'rejected' counts as a failure; a pulled
    extract still 'running' is an attempt in progress (neither success nor failure).
#}

with extracts as (

    select * from {{ source('ops', 'source_extracts') }}

),

file_loads as (

    select * from {{ source('ops', 'file_loads') }}

),

extract_attempts as (

    select
        source,
        'extract' as attempt_kind,
        extract_id as attempt_id,
        run_id,
        status,
        case status when 'loaded' then 'succeeded' when 'failed' then 'failed' else 'running' end
            as outcome,
        records_loaded,
        started_at,
        coalesce(finished_at, started_at) as attempted_at,
        error
    from extracts

),

file_attempts as (

    select
        source,
        'file' as attempt_kind,
        file_load_id as attempt_id,
        run_id,
        status,
        case status when 'rejected' then 'failed' else 'succeeded' end as outcome,
        case status when 'loaded' then rows_loaded else 0 end as records_loaded,
        started_at,
        coalesce(finished_at, started_at) as attempted_at,
        error
    from file_loads

),

attempts as (

    select * from extract_attempts
    union all
    select * from file_attempts

)

select * from attempts
