-- Whether each source is configured for this deployment, as the night's load task of that source
-- found it (settings.configured_sources): dbt reads it to tell "not configured" from "delivered nothing".
create table if not exists ops.source_configuration (
    source        text primary key,
    is_configured boolean not null,
    configured_by text,
    run_id        text not null,
    recorded_at   timestamptz not null default now()
);
