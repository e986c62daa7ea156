-- Schemas and bookkeeping tables of the warehouse. Idempotent: run before every load.
create schema if not exists raw;
create schema if not exists identity;
create schema if not exists ops;

revoke all on schema raw from public;
revoke all on schema identity from public;

create table if not exists ops.load_batches (
    batch_id     bigserial primary key,
    run_id       text not null,
    landing_dir  text not null,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz
);

create table if not exists ops.file_loads (
    file_load_id      bigserial primary key,
    batch_id          bigint not null references ops.load_batches (batch_id),
    run_id            text not null,
    file_name         text not null,
    file_checksum     text not null,
    file_format       text,
    status            text not null check (status in ('loaded', 'skipped', 'rejected')),
    rows_read         integer,
    rows_loaded       integer,
    rows_quarantined  integer,
    replaced_checksum text,
    error             text,
    started_at        timestamptz not null default now(),
    finished_at       timestamptz,
    constraint rows_add_up check (
        status <> 'loaded' or rows_read = rows_loaded + rows_quarantined
    )
);
create index if not exists file_loads_name_idx on ops.file_loads (file_name, status);

create table if not exists ops.gate_runs (
    gate_run_id          bigserial primary key,
    run_id               text not null,
    schema_name          text not null,
    success              boolean not null,
    failed_expectations  jsonb not null default '[]',
    warnings             jsonb not null default '[]',
    data_docs_path       text,
    checked_at           timestamptz not null default now()
);

create table if not exists ops.publish_log (
    publish_id     bigserial primary key,
    run_id         text not null,
    source_schema  text not null,
    target_schema  text not null,
    published_at   timestamptz not null default now()
);
