-- Retention runs and erasures (konvergensi.retention): what was removed, never who.
create table if not exists ops.retention_runs (
    retention_run_id  bigserial primary key,
    months            integer not null,
    cutoff            date not null,      -- identifiable rows of events before this day were removed
    rows_by_table     jsonb not null,     -- "schema.table": rows deleted
    aggregates_kept   integer not null,   -- aggregate rows copied into ops.retained_aggregates first
    ran_at            timestamptz not null default now(),
    ran_by            text not null default current_user
);

-- The published aggregates as they stood when a retention run removed the rows behind them.
create table if not exists ops.retained_aggregates (
    retention_run_id  bigint not null references ops.retention_runs (retention_run_id),
    source_table      text not null,
    row_data          jsonb not null
);

-- One row per person erased (UU PDP right to erasure). No NIK: the person's pseudonyms (HMACs under
-- the key named by key_id; rekey maps them) let the erasure be applied again to a later export.
create table if not exists ops.erasure_log (
    erasure_id     bigserial primary key,
    subject_keys   text[] not null,
    key_id         text not null,
    reference      text not null,     -- the request: letter number, ticket
    rows_by_table  jsonb not null,    -- "schema.table": rows deleted or cleared
    erased_at      timestamptz not null default now(),
    erased_by      text not null default current_user
);
