"""`make bi`: Superset on the last published night's `bi` schema, until Ctrl-C or `make stop`.

    python -m konvergensi.bi run [--port 8088]   # SUPERSET_PORT also sets the port
    python -m konvergensi.bi provision [--url http://127.0.0.1:8088]
    python -m konvergensi.bi stop
    python -m konvergensi.bi prepare             # the metadata template (`make superset-venv` runs it)

`run` uses the warehouse at WAREHOUSE_URL, or starts the embedded PostgreSQL (and stops it again on
exit if it started it). It starts Superset from `.venv-superset` on 127.0.0.1, connects it to the
warehouse as the read-only role konvergensi_bi (SUPERSET_WAREHOUSE_URI overrides the connection),
provisions the dashboard "Konvergensi Stunting Kota Pekalongan", prints where to log in and keeps
running. A second `make bi` while one runs provisions that one again (after a night) and exits.
`provision` does the same against a running Superset.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from konvergensi import roles, settings
from konvergensi.bi import server
from konvergensi.bi.api import SupersetApiError, SupersetClient
from konvergensi.bi.provision import Provisioned, ProvisionError, check_warehouse, provision
from konvergensi.processes import interrupt, start_embedded_warehouse


def bi_url() -> str:
    """How Superset logs in to the warehouse: SUPERSET_WAREHOUSE_URI, else the BI role on WAREHOUSE_URL."""
    configured = os.environ.get("SUPERSET_WAREHOUSE_URI", "").strip()
    if configured:
        return configured.replace("postgresql+psycopg2://", "postgresql://", 1)
    return roles.role_url(roles.BI, settings.warehouse_url())


def provision_at(base_url: str) -> Provisioned:
    login = server.credentials()
    client = SupersetClient(base_url, login.user, login.password)
    done = provision(client, bi_url())
    print(done.summary(), flush=True)
    return done


def run(port: int) -> int:
    signal.signal(signal.SIGTERM, interrupt)
    state = server.running()
    if state:
        print(f"Superset already runs from this data directory (pid {state['pid']}, "
              f"http://{server.HOST}:{state['port']}): provisioning it again", flush=True)
        done = provision_at(f"http://{server.HOST}:{state['port']}")
        print(f"  dashboard: {done.dashboard_url}")
        return 0
    server.command("superset")
    server.check_port(port)
    started_warehouse = False
    if not os.environ.get("WAREHOUSE_URL"):
        started_warehouse = start_embedded_warehouse(server.SupersetError)
    try:
        check_warehouse(bi_url())  # before Superset's minute of starting: is there a published night to show?
        return _serve(port)
    finally:
        if started_warehouse:
            from konvergensi import warehouse

            warehouse.stop()
            print("Stopped the embedded PostgreSQL.", flush=True)


def _serve(port: int) -> int:
    running = server.start_server(port)
    try:
        server.write_pid_file(running)
        done = provision_at(running.url)
        print(server.describe(running, done.dashboard_url), flush=True)
        while running.process.poll() is None:
            time.sleep(2)
        print(f"Superset's server exited with code {running.process.returncode} (log {server.log_file()})",
              file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Superset …", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.stop_server(running)
        server.pid_file().unlink(missing_ok=True)
        print("Superset stopped.", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m konvergensi.bi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "provision", "stop", "prepare"])
    parser.add_argument("--port", type=int, default=server.default_port())
    parser.add_argument("--url", help="provision: the Superset to provision (default: the one `make bi` runs)")
    args = parser.parse_args(argv)
    try:
        if args.action == "run":
            return run(args.port)
        if args.action == "provision":
            state = server.running()
            url = args.url or (f"http://{server.HOST}:{state['port']}" if state else None)
            if not url:
                raise server.SupersetError("Superset does not run from this data directory: start it with `make bi`")
            provision_at(url)
            return 0
        if args.action == "prepare":
            server.command("superset")
            print(f"Superset's metadata template: {server.ensure_template()}")
            return 0
        server.stop()
        return 0
    except (server.SupersetError, ProvisionError, SupersetApiError, settings.ConfigurationError) as error:
        print(f"make bi: {error}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
