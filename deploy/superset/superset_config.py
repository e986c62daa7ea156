"""Superset settings of the compose deployment (docker-compose.yml mounts this directory).

Every secret comes from the environment, which compose fills from .env. Superset keeps its own
metadata (users, charts, dashboards) in SQLite on the `superset-home` volume: enough for one city's
analysts; point SUPERSET_METADATA_URL at a PostgreSQL database for more concurrent users.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_URL", "sqlite:////app/superset_home/superset.db")

