-- One row per nightly dbt build: how much of it was SQL (include/konvergensi/transform_build.py).
create table if not exists ops.transform_runs (
    transform_run_id  bigserial primary key,
    run_id            text not null,
    nodes             integer not null,       -- seeds, models, snapshots and tests in run_results.json
    failed_nodes      integer not null,
    node_seconds      double precision not null,  -- node execution times summed (over dbt's threads)
    sql_wall_seconds  double precision not null,  -- wall time during which at least one node was executing
    dbt_seconds       double precision not null,  -- dbt's own elapsed time for the invocation
    task_seconds      double precision,           -- the Airflow task's wall time up to the end of the build
    recorded_at       timestamptz not null default now()
);
