"""Checks and one-off steps of the docker compose deployment (docker-compose.yml, docs/deployment.md).

`check-env` runs before anything else of the stack starts (the databases included, because
PostgreSQL keeps the password it is first started with): it refuses a setting that still holds the
placeholder of `.env.example`, is missing, or has a shape the stack cannot use, naming each setting
and never printing a value. `airflow-passwords` writes the Airflow admin's password where Airflow's
simple auth manager reads it, so that the password comes from `.env` and not from Airflow's log.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = "CHANGE_ME"

# Passwords that end up inside connection URLs (postgresql://user:password@host/db, redis://…).
URL_PASSWORDS = (
    "WAREHOUSE_SUPERUSER_PASSWORD",
    "KONVERGENSI_LOADER_PASSWORD",
    "KONVERGENSI_TRANSFORMER_PASSWORD",
    "KONVERGENSI_BI_PASSWORD",
    "AIRFLOW_DB_PASSWORD",
    "REDIS_PASSWORD",
)
# Keys that sign sessions and tokens.
SIGNING_KEYS = ("AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "SUPERSET_SECRET_KEY")
# Passwords people type into a login form.
LOGIN_PASSWORDS = ("AIRFLOW_ADMIN_PASSWORD", "SUPERSET_ADMIN_PASSWORD")
REQUIRED = (
    *URL_PASSWORDS,
    *SIGNING_KEYS,
    *LOGIN_PASSWORDS,
    "KONVERGENSI_PSEUDONYM_KEY",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_ADMIN_USER",
    "SUPERSET_ADMIN_USER",
)
EXECUTORS = ("LocalExecutor", "CeleryExecutor")
MIN_PASSWORD = 16
MIN_SIGNING_KEY = 32
URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")
HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


def _is_fernet_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def problems(environment: Mapping[str, str]) -> list[str]:
    """What is wrong with a deployment's settings, one line per setting; empty when it may start."""
    found: dict[str, str] = {}
    for name in sorted(environment):
        if PLACEHOLDER in environment[name]:
            found[name] = f"{name} still holds the placeholder of .env.example: set a real value in .env"
    for name in REQUIRED:
        if name not in found and not environment.get(name, "").strip():
            found[name] = f"{name} is not set (see .env.example)"

    def check(name: str, valid: bool, reason: str) -> None:
        value = environment.get(name, "")
        if name not in found and value and not valid:
            found[name] = f"{name} {reason}"

    for name in URL_PASSWORDS:
        value = environment.get(name, "")
        check(name, len(value) >= MIN_PASSWORD, f"is shorter than {MIN_PASSWORD} characters")
        check(
            name,
            bool(URL_SAFE.fullmatch(value)),
            "may only hold letters, digits and . _ ~ - (it is part of a connection URL); "
            "e.g. `openssl rand -hex 24`",
        )
    for name in LOGIN_PASSWORDS:
        check(name, len(environment.get(name, "")) >= MIN_PASSWORD, f"is shorter than {MIN_PASSWORD} characters")
    for name in SIGNING_KEYS:
        check(
            name,
            len(environment.get(name, "")) >= MIN_SIGNING_KEY,
            f"is shorter than {MIN_SIGNING_KEY} characters; e.g. `openssl rand -hex 32`",
        )
    check(
        "KONVERGENSI_PSEUDONYM_KEY",
        bool(HEX_KEY.fullmatch(environment.get("KONVERGENSI_PSEUDONYM_KEY", "").strip())),
        "must be 64 hexadecimal characters (32 bytes); e.g. `openssl rand -hex 32`",
    )
    check(
        "AIRFLOW_FERNET_KEY",
        _is_fernet_key(environment.get("AIRFLOW_FERNET_KEY", "").strip()),
        "is not a Fernet key (32 bytes, URL-safe base64); e.g. "
        "`python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`",
    )
    executor = environment.get("AIRFLOW_EXECUTOR", "LocalExecutor") or "LocalExecutor"
    if executor not in EXECUTORS:
        found["AIRFLOW_EXECUTOR"] = f"AIRFLOW_EXECUTOR must be one of {', '.join(EXECUTORS)}"
    profiles = {profile.strip() for profile in environment.get("COMPOSE_PROFILES", "").split(",")}
    if "celery" in profiles and executor != "CeleryExecutor":
        found["AIRFLOW_EXECUTOR"] = (
            "AIRFLOW_EXECUTOR must be CeleryExecutor when COMPOSE_PROFILES holds celery "
            "(otherwise the scheduler runs every task itself and the workers idle)"
        )
    if environment.get("KONVERGENSI_SERVICES_API_URL", "").strip() and not environment.get(
        "KONVERGENSI_SERVICES_API_TOKEN", ""
    ).strip():
        found["KONVERGENSI_SERVICES_API_TOKEN"] = (
            "KONVERGENSI_SERVICES_API_TOKEN is not set although KONVERGENSI_SERVICES_API_URL is"
        )
    return [found[name] for name in sorted(found)]


def write_airflow_passwords(path: Path, environment: Mapping[str, str]) -> None:
    """Write {admin user: password} for the simple auth manager, readable by its owner only.

    Written on every start of the stack, so a password changed in .env takes effect at the next
    `docker compose up`.
    """
    user = environment.get("AIRFLOW_ADMIN_USER", "").strip()
    password = environment.get("AIRFLOW_ADMIN_PASSWORD", "")
    if not user or not password:
        raise RuntimeError("AIRFLOW_ADMIN_USER and AIRFLOW_ADMIN_PASSWORD must both be set")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps({user: password}) + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m konvergensi.deployment", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check-env", help="refuse placeholder, missing or malformed settings (names only)")
    passwords = commands.add_parser("airflow-passwords", help="write the Airflow admin's password file")
    passwords.add_argument("--file", type=Path, required=True, help="the simple auth manager's passwords file")
    arguments = parser.parse_args(argv)

    if arguments.command == "check-env":
        found = problems(os.environ)
        if found:
            print(f"The stack will not start: {len(found)} setting(s) in .env to fix:", file=sys.stderr)
            for line in found:
                print(f"  - {line}", file=sys.stderr)
            return 1
        print(f"Settings checked: {len(REQUIRED)} required settings present, no placeholder left.")
        return 0
    try:
        write_airflow_passwords(arguments.file, os.environ)
    except (RuntimeError, OSError) as failed:
        print(f"konvergensi.deployment airflow-passwords: {failed}", file=sys.stderr)
        return 1
    print(f"Airflow login for {os.environ['AIRFLOW_ADMIN_USER'].strip()} written to {arguments.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
