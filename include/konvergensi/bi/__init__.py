"""Superset on the `bi` schema: `make bi` (server.py), the dashboard's definitions (dashboard.py) and
their idempotent provisioning through the REST API (provision.py, api.py). `python -m konvergensi.bi --help`.
"""
