-- The night each run is for (its run date: the Airflow logical date in WIB), recorded when the gate runs.
-- A run id says how the run was started, not which night it is for (`airflow dags test` names a run after
-- the moment it started), so the report finds a night's gate and publish through this table.
create table if not exists ops.night_runs (
    run_id       text primary key,
    run_date     date not null,
    recorded_at  timestamptz not null default now()
);
create index if not exists night_runs_run_date on ops.night_runs (run_date);
