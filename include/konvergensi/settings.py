"""Where things are and how to reach them, read from the environment.

Every path defaults to a location inside the project so that a fresh clone runs without any
configuration; every secret comes from the environment or, for local development only, from a
key generated once into the project's ignored data directory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
EXPECTATIONS_DIR = PROJECT_DIR / "expectations"
REFERENCE_SEEDS_DIR = DBT_PROJECT_DIR / "seeds" / "reference"


def data_dir() -> Path:
    """Project-local runtime data: embedded PostgreSQL, Airflow home, development key."""
    path = Path(os.environ.get("KONVERGENSI_DATA_DIR", PROJECT_DIR / ".data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def landing_dir() -> Path:
    """Directory where e-PPGBM exports arrive."""
    return Path(os.environ.get("KONVERGENSI_LANDING_DIR", data_dir() / "landing")).resolve()


def marts_audit_schema() -> str:
    """Schema dbt builds tonight's marts into, before the gate."""
    return os.environ.get("KONVERGENSI_MARTS_SCHEMA", "marts_audit")


def restricted_audit_schema() -> str:
    """Schema dbt builds tonight's person-level lists (case follow-up) into, before the gate."""
    return os.environ.get("KONVERGENSI_RESTRICTED_SCHEMA", "restricted_audit")


PUBLISHED_MARTS_SCHEMA = "marts"
PUBLISHED_RESTRICTED_SCHEMA = "restricted"


def warehouse_url() -> str:
    """The warehouse connection URL; the Makefile exports it (embedded server or the user's own)."""
    url = os.environ.get("WAREHOUSE_URL")
    if not url:
        raise RuntimeError(
            "WAREHOUSE_URL is not set: run through `make` (which starts the embedded PostgreSQL) "
            "or export WAREHOUSE_URL=postgresql://user:password@host:port/dbname"
        )
    return url


def sqlalchemy_url(url: str | None = None) -> str:
    """The warehouse URL with the psycopg (v3) driver, for SQLAlchemy and Great Expectations."""
    url = url or warehouse_url()
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgres", "postgresql") else url


def connection_parts(url: str | None = None) -> dict[str, str]:
    """Split a PostgreSQL URL into host, port, user, password and dbname.

    The embedded server listens on a Unix socket given as `?host=/path`; libpq treats a host that
    starts with a slash as a socket directory, and so does dbt-postgres.
    """
    parsed = urlparse(url or warehouse_url())
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or "localhost"])[0]
    return {
        "host": unquote(host),
        "port": str(parsed.port or query.get("port", ["5432"])[0]),
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or ""),
        "dbname": (parsed.path or "/postgres").lstrip("/") or "postgres",
    }


def dbt_env(url: str | None = None) -> dict[str, str]:
    """Environment variables that dbt_project/profiles.yml reads: dbt connects as the transformer role.

    Same server and database as `url` (default WAREHOUSE_URL), the user swapped for
    konvergensi_transformer and its password (docs/roles.md); the roles must have been applied there.
    """
    from konvergensi import roles

    parts = connection_parts(url)
    environment = {
        "DBT_PG_HOST": parts["host"],
        "DBT_PG_PORT": parts["port"],
        "DBT_PG_USER": roles.TRANSFORMER,
        "DBT_PG_PASSWORD": roles.role_password(roles.TRANSFORMER),
        "DBT_PG_DBNAME": parts["dbname"],
        "KONVERGENSI_MARTS_SCHEMA": marts_audit_schema(),
        "KONVERGENSI_RESTRICTED_SCHEMA": restricted_audit_schema(),
        "KONVERGENSI_ANALYST_SCHEMA": analyst_audit_schema(),
        "KONVERGENSI_BI_SCHEMA": bi_audit_schema(),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DO_NOT_TRACK": "1",
    }
    try:
        environment["PGOPTIONS"] = analyst_key_options()
    except ConfigurationError:
        # No key decided yet (`make run` decides at its start whether a development key may be made):
        # the DAG's dbt task derives the analyst key itself at run time (provide_analyst_key).
        pass
    return environment


PSEUDONYM_KEY_SETTING = "KONVERGENSI_PSEUDONYM_KEY"
# Set by the simulated night (`make run` without LANDING_DIR): a development key may be generated.
DEVELOPMENT_KEY_SETTING = "KONVERGENSI_DEVELOPMENT_KEY"


def parse_pseudonym_key(value: str, name: str = PSEUDONYM_KEY_SETTING) -> bytes:
    """A key given as hex, at least 16 bytes (64 hex characters recommended)."""
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        raise ConfigurationError(f"{name} is not hexadecimal (generate one: python -m konvergensi.pseudonyms new-key)") from None
    if len(key) < 16:
        raise ConfigurationError(f"{name} is {len(key)} bytes; a pseudonym key needs at least 16 (64 hex characters recommended)")
    return key


def pseudonym_key() -> bytes:
    """The HMAC key for pseudonyms, from KONVERGENSI_PSEUDONYM_KEY (hex).

    A night with real exports refuses to start without it (ConfigurationError): a key generated on
    the fly would be lost with the machine and would give every child new pseudonyms. Only the
    simulated night (KONVERGENSI_DEVELOPMENT_KEY=1, set by `make run` without LANDING_DIR) may use a
    key generated once into the ignored data directory, created with mode 0600 from the start.
    """
    value = os.environ.get(PSEUDONYM_KEY_SETTING, "")
    if value.strip():
        return parse_pseudonym_key(value)
    if os.environ.get(DEVELOPMENT_KEY_SETTING, "").strip() != "1":
        raise ConfigurationError(
            f"{PSEUDONYM_KEY_SETTING} is not set: a night with real exports needs the city's pseudonym key "
            "(64 hex characters; `python -m konvergensi.pseudonyms new-key` makes one). Keep it in the secret store "
            "and back it up: another key gives every child a new pseudonym."
        )
    return development_pseudonym_key()


def development_pseudonym_key() -> bytes:
    """The simulated night's key in <data dir>/pseudonym.key, generated once (mode 0600 from its creation)."""
    key_file = data_dir() / "pseudonym.key"
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return parse_pseudonym_key(key_file.read_text(), str(key_file))


# Which sources this deployment has (see docs/convergence-sources.md) ---------------------------

# Every source the warehouse knows, in the order the night lists them: the two file sources, then the
# pulled ones (one extract task each). The value is the setting a pulled source needs to be reached.
KNOWN_SOURCES: dict[str, str | None] = {
    "eppgbm": None,
    "bkkbn": None,
    "services": "KONVERGENSI_SERVICES_API_URL",
    "pregnancies": "KONVERGENSI_SERVICES_API_URL",
    "dtsen": "KONVERGENSI_DTSEN_URL",
    "pupr_surveys": "KONVERGENSI_PUPR_API_URL",
    "pupr_projects": "KONVERGENSI_PUPR_API_URL",
}
SOURCES_SETTING = "KONVERGENSI_SOURCES"
# Names a person may write for a group of sources that share one system.
SOURCE_GROUPS = {"pupr": ("pupr_surveys", "pupr_projects"), "all": tuple(KNOWN_SOURCES)}


class ConfigurationError(ValueError):
    """The settings contradict each other or name something unknown; the night must not start."""


def named_sources(raw: str | None = None) -> list[str] | None:
    """The sources KONVERGENSI_SOURCES names (groups expanded), or None when it is not set.

    Raises ConfigurationError for a name that is not a source.
    """
    raw = (os.environ.get(SOURCES_SETTING, "") if raw is None else raw).strip()
    if not raw:
        return None
    named: list[str] = []
    for word in (part.strip().lower() for part in raw.split(",")):
        if not word:
            continue
        if word in SOURCE_GROUPS:
            named.extend(SOURCE_GROUPS[word])
        elif word in KNOWN_SOURCES:
            named.append(word)
        else:
            raise ConfigurationError(
                f"{SOURCES_SETTING}={raw!r}: unknown source {word!r}; known sources are "
                f"{', '.join(KNOWN_SOURCES)} (or {', '.join(SOURCE_GROUPS)})"
            )
    return named


def configured_sources(landing: Path | None = None) -> dict[str, str]:
    """Each configured source and why it counts as configured, in the order of KNOWN_SOURCES.

    KONVERGENSI_SOURCES (comma-separated names from KNOWN_SOURCES, or `pupr`, or `all`) names them
    when set; e-PPGBM is always among them, since the health marts are built from it. When it is not
    set, the default is e-PPGBM, BKKBN when `<landing>/bkkbn/` exists, and each pulled source whose URL
    setting is present. A name that is not a source, or a named pulled source without its URL
    setting, raises ConfigurationError.
    """
    named = named_sources()
    found = {"eppgbm": "always"}
    if named is None:
        if ((landing or landing_dir()) / "bkkbn").is_dir():
            found["bkkbn"] = "default: <landing>/bkkbn/ exists"
        for source, setting in KNOWN_SOURCES.items():
            if setting and os.environ.get(setting, "").strip():
                found[source] = f"default: {setting} is set"
        return found
    for source in named:
        setting = KNOWN_SOURCES[source]
        if setting and not os.environ.get(setting, "").strip():
            raise ConfigurationError(f"{SOURCES_SETTING} names {source} but {setting} is not set: "
                                     f"give its URL or leave {source} out")
        found.setdefault(source, SOURCES_SETTING)
    return {source: found[source] for source in KNOWN_SOURCES if source in found}


def is_configured(source: str, landing: Path | None = None) -> bool:
    """Whether this deployment has `source` (raises ConfigurationError for a name that is not a source)."""
    if source not in KNOWN_SOURCES:
        raise ConfigurationError(f"unknown source {source!r}; known sources are {', '.join(KNOWN_SOURCES)}")
    return source in configured_sources(landing)


# Pulled convergence sources (see docs/convergence-sources.md) ---------------------------------


def _required(name: str, what: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(f"{name} is not set: {what}")
    return value


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RuntimeError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise RuntimeError(f"{name}={raw!r} must not be negative")
    return value


def services_api_url() -> str:
    """Base URL of the maternal and child services API, e.g. http://127.0.0.1:8765/api/v1."""
    return _required("KONVERGENSI_SERVICES_API_URL", "base URL of the maternal and child services API").rstrip("/")


def services_api_token() -> str:
    """Bearer token for the services API."""
    return _required("KONVERGENSI_SERVICES_API_TOKEN", "bearer token of the maternal and child services API")


def dtsen_url() -> str:
    """SQLAlchemy URL of the DTSEN welfare register (a plain postgresql:// URL gets the psycopg driver)."""
    return sqlalchemy_url(_required("KONVERGENSI_DTSEN_URL", "database URL of the DTSEN welfare register"))


def pupr_api_url() -> str:
    """Base URL of the public-works GeoJSON API, e.g. http://127.0.0.1:8765/pupr."""
    return _required("KONVERGENSI_PUPR_API_URL", "base URL of the public-works (DPUPR) GeoJSON API").rstrip("/")


def http_timeout_seconds() -> float:
    """Per-request timeout of the source HTTP client: connect, and each wait for data."""
    return _number("KONVERGENSI_HTTP_TIMEOUT_SECONDS", 30.0)


def http_attempts() -> int:
    """Attempts per HTTP request (the first one included) before a source counts as unavailable."""
    return max(1, int(_number("KONVERGENSI_HTTP_ATTEMPTS", 5)))


def http_backoff_seconds() -> float:
    """First backoff delay; it doubles on every retry (with jitter), capped by the maximum below."""
    return _number("KONVERGENSI_HTTP_BACKOFF_SECONDS", 1.0)


def http_max_backoff_seconds() -> float:
    return _number("KONVERGENSI_HTTP_MAX_BACKOFF_SECONDS", 30.0)


def http_retry_after_cap_seconds() -> float:
    """A server's Retry-After is honoured up to this many seconds."""
    return _number("KONVERGENSI_HTTP_RETRY_AFTER_CAP_SECONDS", 120.0)


def extract_pause_seconds(default: float) -> float:
    """Pause before a down source's next whole-extract attempt, times the attempt number (tests shorten it)."""
    return _number("KONVERGENSI_EXTRACT_PAUSE_SECONDS", default)


def http_max_response_bytes() -> int:
    """The largest source HTTP response body read (default 64 MiB); a larger one fails the extract."""
    return int(_number("KONVERGENSI_HTTP_MAX_RESPONSE_BYTES", 64 << 20))


def retention_months() -> int | None:
    """KONVERGENSI_RETENTION_MONTHS: identifiable rows older than this are removed; unset, nothing is."""
    raw = os.environ.get("KONVERGENSI_RETENTION_MONTHS", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"KONVERGENSI_RETENTION_MONTHS={raw!r} is not a whole number of months (1 or more)")
    return int(raw)


def analyst_audit_schema() -> str:
    """Schema dbt builds tonight's analyst marts into (row-level, pseudonymised), before the gate."""
    return os.environ.get("KONVERGENSI_ANALYST_SCHEMA", "analyst_audit")


def bi_audit_schema() -> str:
    """Schema dbt builds tonight's BI marts into (aggregates, small cells suppressed), before the gate."""
    return os.environ.get("KONVERGENSI_BI_SCHEMA", "bi_audit")


PUBLISHED_ANALYST_SCHEMA = "analyst"
PUBLISHED_BI_SCHEMA = "bi"


def analyst_key_options() -> str:
    """libpq PGOPTIONS giving dbt's sessions the analyst marts' HMAC pads (never written into SQL or files)."""
    from konvergensi.pseudonyms import analyst_hmac_pads

    inner, outer = analyst_hmac_pads(pseudonym_key())
    words = os.environ.get("PGOPTIONS", "").split()
    kept = [word for index, word in enumerate(words)
            if "konvergensi.analyst_hmac" not in word
            and not (word == "-c" and index + 1 < len(words) and "konvergensi.analyst_hmac" in words[index + 1])]
    return " ".join([*kept, f"-c konvergensi.analyst_hmac_inner={inner}", f"-c konvergensi.analyst_hmac_outer={outer}"])


def provide_analyst_key(context: object = None) -> None:
    """Put the analyst key's PGOPTIONS into this process's environment (the dbt task's pre_execute hook).

    A deployment whose Airflow environment is static (docker-compose) cannot derive it; setting it in
    the task process at run time keeps it out of the DAG's rendered fields and the metadata database.
    """
    os.environ["PGOPTIONS"] = analyst_key_options()


def max_file_bytes() -> int:
    """A delivered file larger than this is refused unread (a year of the city's exports is ~200 MB)."""
    return int(_number("KONVERGENSI_MAX_FILE_BYTES", float(1 << 30)))


def xlsx_max_uncompressed_bytes() -> int:
    """What the parts of one .xlsx may declare uncompressed, in all (a zip bomb declares far more)."""
    return int(_number("KONVERGENSI_XLSX_MAX_UNCOMPRESSED_BYTES", float(2 << 30)))


def keep_nights() -> int:
    """How many nights of GX validation results, Data Docs and Airflow task logs are kept."""
    return max(1, int(_number("KONVERGENSI_KEEP_NIGHTS", 30)))


def night_lease_minutes() -> float:
    """How long the night lease lives without a heartbeat (konvergensi.night_lease).

    Far above the night's longest step (one `dbt build`, a few minutes at city scale): every task
    renews the lease when it starts, so only a run that died stops renewing it.
    """
    minutes = _number("KONVERGENSI_NIGHT_LEASE_MINUTES", 120.0)
    if minutes <= 0:
        raise ConfigurationError("KONVERGENSI_NIGHT_LEASE_MINUTES must be more than 0 minutes")
    return minutes


def night_lease_wait_seconds() -> float:
    """How long the DAG's take_night_lease waits for another run's lease (default 0: refuse at once)."""
    return _number("KONVERGENSI_NIGHT_LEASE_WAIT_SECONDS", 0.0)
