-- Which key the pseudonyms were made with (konvergensi.pseudonyms): the warehouse's current key id,
-- retired ones, each rekey, and on every load batch and extract the key id of the rows it wrote.
create table if not exists ops.pseudonym_keys (
    key_id         text primary key,  -- HMAC(key, fixed label), 64 bits in hex: names the key, reveals nothing
    state          text not null check (state in ('current', 'retired')),
    registered_at  timestamptz not null default now(),
    retired_at     timestamptz
);
create unique index if not exists pseudonym_keys_one_current on ops.pseudonym_keys (state) where state = 'current';

create table if not exists ops.pseudonym_rekeys (
    rekey_id       bigserial primary key,
    old_key_id     text not null,
    new_key_id     text not null,
    pseudonyms     integer not null,  -- distinct identifiers re-pseudonymised
    rows_by_table  jsonb not null,    -- "schema.table.column": rows changed
    dropped        text[] not null,   -- incremental dbt tables dropped, rebuilt whole by the next build
    rekeyed_at     timestamptz not null default now()
);

-- The key current when a batch or extract starts is the key of the pseudonyms it writes (the
-- loaders check it first: Pseudonymiser.for_warehouse), so a column default records it.
create or replace function ops.current_pseudonym_key_id() returns text
    language sql stable
    as $$ select key_id from ops.pseudonym_keys where state = 'current' $$;
alter table ops.load_batches add column if not exists pseudonym_key_id text default ops.current_pseudonym_key_id();
alter table ops.source_extracts add column if not exists pseudonym_key_id text default ops.current_pseudonym_key_id();
