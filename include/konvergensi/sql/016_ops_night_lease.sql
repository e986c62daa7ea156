-- The night lease (konvergensi.night_lease): which run may load into this warehouse tonight. One row at
-- most (the `night` key): a run takes it before its first load and deletes it when it has finished. A
-- row whose expires_at has passed belongs to a run that died; the next run takes it over (an ops.alerts
-- warning of kind night_lease_taken_over records that). night_lock_pid is the server pid of the session
-- holding the whole-night advisory lock of a `make run` night: once that session is gone, so is the night.
create table if not exists ops.night_lease (
    lease           text primary key default 'night' check (lease = 'night'),
    run_id          text not null,
    holder          text not null,
    taken_at        timestamptz not null default now(),
    heartbeat_at    timestamptz not null default now(),
    expires_at      timestamptz not null,
    night_lock_pid  integer
);

-- A takeover of a dead run's lease is recorded beside the night's other alerts and warnings.
do $$
begin
    if not exists (
        select 1 from pg_constraint
        where conname = 'alerts_kind_check' and conrelid = 'ops.alerts'::regclass
          and pg_get_constraintdef(oid) like '%night_lease_taken_over%'
    ) then
        alter table ops.alerts drop constraint if exists alerts_kind_check;
        alter table ops.alerts add constraint alerts_kind_check check (
            kind in ('gate_failed', 'source_rejected', 'task_error', 'stale_sources', 'night_lease_taken_over'));
    end if;
end
$$;
