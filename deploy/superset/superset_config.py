"""Superset settings of the compose deployment (docker-compose.yml mounts this directory) and of `make bi`.

Every secret comes from the environment, which compose fills from .env and `make bi` from
<data dir>/superset/secrets.json. Superset keeps its own metadata (users, charts, dashboards) in
SQLite: on the `superset-home` volume in compose, in <data dir>/superset/ for `make bi`; enough for one
city's analysts; point SUPERSET_METADATA_URL at a PostgreSQL database for more concurrent users.
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ.get("SUPERSET_METADATA_URL", "sqlite:////app/superset_home/superset.db")
# Query results are not cached (Superset's default, stated here because the dashboards rely on it):
# after a night is published the charts show it at once.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}


def _ensure_admin(app) -> None:  # noqa: ANN001 - Superset's Flask app
    """`make bi`: the admin login SUPERSET_ADMIN_USER with SUPERSET_ADMIN_PASSWORD, created or its password set.

    Done as the server starts (no separate `superset fab create-admin`, which loads the whole app again).
    """
    from werkzeug.security import check_password_hash

    manager = app.appbuilder.sm
    name, password = os.environ["SUPERSET_ADMIN_USER"], os.environ["SUPERSET_ADMIN_PASSWORD"]
    user = manager.find_user(username=name)
    if user is None:
        # False when another worker created it at the same moment: that one is used
        manager.add_user(name, "Konvergensi", "Admin", f"{name}@localhost", manager.find_role("Admin"), password)
    elif not check_password_hash(user.password, password):
        manager.reset_password(user.id, password)


if os.environ.get("KONVERGENSI_SUPERSET_ADMIN_AT_START") == "1":
    FLASK_APP_MUTATOR = _ensure_admin
