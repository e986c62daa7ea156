# The Airflow image of the compose deployment: the official Airflow 3.3.2 image (Python 3.11) with the
# project's pinned packages and the project itself, prepared exactly as `make setup` prepares a
# checkout (same requirements.txt, same telemetry switches, dbt manifest from `dbt parse`).
# tests/unit/test_deployment_files.py keeps this file and the Makefile in step.
FROM apache/airflow:3.3.2-python3.11

# Where the project lives in the image; the Makefile's exports, with the container's paths.
ENV PYTHONPATH=/opt/konvergensi/include \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/konvergensi/dags \
    KONVERGENSI_DATA_DIR=/opt/airflow/konvergensi-data \
    DBT_PROFILES_DIR=/opt/konvergensi/dbt_project \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__CORE__UNIT_TEST_MODE=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY=False \
    AIRFLOW__COSMOS__CACHE_DIR=/opt/airflow/konvergensi-data/cosmos \
    AIRFLOW__LOGGING__LOGGING_LEVEL=INFO \
    DO_NOT_TRACK=1 \
    GX_ANALYTICS_ENABLED=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False

# The directories the named volumes mount on, owned by the image's airflow user so that a fresh
# volume starts writable (Docker copies the owner into an empty named volume).
USER root
RUN mkdir -p /opt/konvergensi/expectations/uncommitted /opt/airflow/konvergensi-data /opt/airflow/auth \
        /data/landing \
    && chown -R airflow:0 /opt/konvergensi /opt/airflow/konvergensi-data /opt/airflow/auth /data/landing
USER airflow

# Packages first (their layer is rebuilt only when requirements.txt changes). Airflow itself is
# pinned in requirements.txt to the image's version, so pip keeps the image's Airflow.
COPY --chown=airflow:0 requirements.txt /opt/konvergensi/requirements.txt
RUN pip install --no-cache-dir -r /opt/konvergensi/requirements.txt

COPY --chown=airflow:0 dags /opt/konvergensi/dags
COPY --chown=airflow:0 include /opt/konvergensi/include
COPY --chown=airflow:0 dbt_project /opt/konvergensi/dbt_project
COPY --chown=airflow:0 expectations /opt/konvergensi/expectations

# The manifest the DAG renders its dbt task group from, as `make setup` writes it (a parse opens no
# connection).
RUN cd /opt/konvergensi/dbt_project && dbt parse --quiet

WORKDIR /opt/konvergensi
