-- Alerts and warnings raised by the nightly DAG's callbacks (konvergensi.alerts). Idempotent.
-- One row per failed task try (severity 'alert') or per published night with stale sources
-- (severity 'warning'); webhook_status says whether the configured webhook received it.
create table if not exists ops.alerts (
    alert_id        bigserial primary key,
    raised_at       timestamptz not null default now(),
    severity        text not null check (severity in ('alert', 'warning')),
    kind            text not null check (kind in ('gate_failed', 'source_rejected', 'task_error', 'stale_sources')),
    dag_id          text not null,
    run_id          text not null,
    task_id         text not null,
    try_number      integer not null default 1,
    reason          text not null,
    details         jsonb not null default '{}',
    webhook_status  text not null default 'pending'
                    check (webhook_status in ('pending', 'sent', 'failed', 'not_configured')),
    webhook_error   text,
    constraint alerts_one_per_try unique (dag_id, run_id, task_id, try_number, kind)
);
create index if not exists alerts_run_idx on ops.alerts (run_id);
