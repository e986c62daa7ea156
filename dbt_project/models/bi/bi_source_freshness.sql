{#
    How fresh each configured source is (mart_source_freshness without the sources this deployment does
    not use), for the BI dashboards' "data as of" notes. Nothing here describes a person: the times are
    those of loads, the counts those of records loaded.
#}

select
    source,
    source_label,
    configured_by,
    source_status,
    status_reason,
    last_loaded_at,
    last_attempt_at,
    last_attempt_status,
    records_loaded_last,
    is_stale,
    stale_since,
    days_since_last_load,
    max_stale_days,
    exceeds_max_staleness
from {{ ref('mart_source_freshness') }}
where is_configured
