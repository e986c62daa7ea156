#!/usr/bin/env bash
# Superset's start in the compose deployment: its metadata, the admin login from .env, the built-in
# roles, the warehouse connection as the read-only role konvergensi_bi (it sees the bi schema only), then
# the web server.
# Every step is idempotent, so this runs on every start (a password changed in .env takes effect).
set -euo pipefail

echo "[1/4] Superset metadata database"
superset db upgrade

echo "[2/4] admin login ${SUPERSET_ADMIN_USER} (an existing one is kept, its password set from .env)"
superset fab create-admin --username "${SUPERSET_ADMIN_USER}" --firstname Konvergensi --lastname Admin \
    --email "${SUPERSET_ADMIN_USER}@localhost" --password "${SUPERSET_ADMIN_PASSWORD}"
superset fab reset-password --username "${SUPERSET_ADMIN_USER}" --password "${SUPERSET_ADMIN_PASSWORD}"

echo "[3/4] roles and permissions"
superset init

echo "[4/4] warehouse connection 'Konvergensi BI' as konvergensi_bi (read-only: the bi schema only)"
superset set-database-uri --database_name "Konvergensi BI" --uri "${SUPERSET_WAREHOUSE_URI}"

echo "Superset is starting on port 8088"
exec gunicorn --bind 0.0.0.0:8088 --workers 2 --timeout 120 --limit-request-line 0 \
    --limit-request-field_size 0 "superset.app:create_app()"
