"""Keyed pseudonyms (HMAC-SHA256) for identifiers, the key's id, and changing the key (rekey).

    python -m konvergensi.pseudonyms new-key                                  # print a fresh key (hex)
    python -m konvergensi.pseudonyms key-id [--key-env KONVERGENSI_PSEUDONYM_KEY]
    python -m konvergensi.pseudonyms rekey --old-key-env OLD_KEY --new-key-env KONVERGENSI_PSEUDONYM_KEY

PostgreSQL here has no pgcrypto, so pseudonyms are computed while loading. The same key gives the
same pseudonym for the same identifier on every night, which is what lets measurements of one
child be joined over time without carrying the NIK downstream. Without the key a pseudonym cannot
be reversed or recomputed from a guessed NIK — but a NIK has little entropy (region, birth date,
a 4-digit serial), so whoever holds the key can recompute the pseudonyms of all plausible NIKs:
the key is as secret as the NIKs themselves.

Each key has an id (a short HMAC of a fixed label, which reveals nothing about the key). The
warehouse records its current key id in ops.pseudonym_keys, and every load batch and extract the
key id of the pseudonyms it wrote (a column default, migration 008). A loader refuses to run with
another key: pseudonyms of two keys mixed would split every child, mother and household in two.
Changing the key is `rekey`, which re-pseudonymises raw and every derived table in one transaction.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

PSEUDONYM_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are out of reach for a city's population
CACHE_ENTRIES = 50_000  # repeats within a file; a bigger cache cost ~60 MB at 1M rows and saved no measurable time
KEY_ID_LABEL = b"konvergensi pseudonym key id v1"
KEY_ID_HEX_CHARS = 16


def key_id(key: bytes) -> str:
    """The key's public name: HMAC(key, fixed label), 64 bits in hex. Equal ids mean equal keys."""
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:KEY_ID_HEX_CHARS]


class KeyMismatch(RuntimeError):
    """Tonight's pseudonym key is not the one the warehouse's pseudonyms were made with."""


class Pseudonymiser:
    """HMAC-SHA256 (RFC 2104) of identifiers, hex, truncated to 128 bits.

    The inner and outer hash states of the key are prepared once and copied per value, which is
    several times faster than a fresh HMAC per call; results are cached per run.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._cache: dict[str, str] = {}
        self.key_id = key_id(key)

    @classmethod
    def for_warehouse(cls, connection: psycopg.Connection, key: bytes | None = None) -> Pseudonymiser:
        """The pseudonymiser of the configured key (settings.pseudonym_key) once the warehouse agrees.

        An empty warehouse adopts the key (its id becomes current in ops.pseudonym_keys); one whose
        pseudonyms were made with another key raises KeyMismatch, telling what to do.
        """
        from konvergensi import settings

        pseudonymiser = cls(settings.pseudonym_key() if key is None else key)
        register_key(connection, pseudonymiser.key_id)
        return pseudonymiser

    def one(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:PSEUDONYM_HEX_CHARS]

    def column(self, values: pl.Series, prefix: str = "") -> pl.Series:
        """Pseudonym of each value (null stays null); each distinct value is hashed once per run."""
        cache = self._cache
        if len(cache) > CACHE_ENTRIES:
            cache.clear()
        distinct = values.drop_nulls().unique().to_list()
        mapping = {}
        for value in distinct:
            material = prefix + value
            key = cache.get(material)
            if key is None:
                key = cache[material] = self.one(material)
            mapping[value] = key
        return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def current_key_id(connection: psycopg.Connection) -> str | None:
    row = connection.execute("select key_id from ops.pseudonym_keys where state = 'current'").fetchone()
    return row[0] if row else None


def register_key(connection: psycopg.Connection, identifier: str) -> None:
    """Make `identifier` the warehouse's key when it has none; raise KeyMismatch when it has another."""
    with connection.transaction():
        current = current_key_id(connection)
        if current is None:
            connection.execute(
                "insert into ops.pseudonym_keys (key_id, state) values (%s, 'current') on conflict do nothing",
                (identifier,),
            )
            current = current_key_id(connection)
        if current != identifier:
            retired = connection.execute(
                "select 1 from ops.pseudonym_keys where key_id = %s and state = 'retired'", (identifier,)
            ).fetchone()
            raise KeyMismatch(
                f"KONVERGENSI_PSEUDONYM_KEY has key id {identifier}, but the warehouse's pseudonyms were made with "
                f"key id {current}" + (" (this key was retired by a rekey)" if retired else "") + ": loading with it "
                "would split every child, mother and household in two. Set the key the warehouse uses, or, to change "
                "the key on purpose, run `python -m konvergensi.pseudonyms rekey --old-key-env OLD_KEY "
                "--new-key-env KONVERGENSI_PSEUDONYM_KEY` first (docs/privacy.md)."
            )


# Rekey -------------------------------------------------------------------------------------------

# The e-PPGBM child without a NIK is keyed by name, birth date and sex, normalised as the cleaning
# step does (konvergensi.ingest.eppgbm_cleaning): upper case, runs of non-letters to one space.
PERSON_MATERIAL = (
    "'person:' || btrim(regexp_replace(upper(child_name), '[^A-Z]+', ' ', 'g')) || '|' || birth_date::text || '|' || sex"
)
# Every pseudonym column of raw and the text it is the HMAC of (the identifiers stay in raw, in clear).
RAW_PSEUDONYMS: tuple[tuple[str, str, str], ...] = (
    ("raw.eppgbm_measurements", "child_nik_key", "'nik:' || nik"),
    ("raw.eppgbm_measurements", "child_person_key", PERSON_MATERIAL),
    ("raw.mch_services", "nik_key", "'nik:' || nik"),
    ("raw.mch_services", "mother_nik_key", "'nik:' || mother_nik"),
    ("raw.mch_services", "kk_key", "'kk:' || kk_number"),
    ("raw.mch_pregnancies", "mother_nik_key", "'nik:' || mother_nik"),
    ("raw.mch_pregnancies", "kk_key", "'kk:' || kk_number"),
    ("raw.dtsen_households", "household_key", "'dtsen:' || household_id"),
    ("raw.dtsen_households", "kk_key", "'kk:' || kk_number"),
    ("raw.dtsen_members", "nik_key", "'nik:' || nik"),
    ("raw.bkkbn_families", "kk_key", "'kk:' || kk_number"),
    ("raw.bkkbn_families", "head_nik_key", "'nik:' || head_nik"),
    ("raw.bkkbn_families", "wife_nik_key", "'nik:' || wife_nik"),
    ("raw.pupr_household_surveys", "kk_key", "'kk:' || kk_number"),
    ("raw.pupr_projects", "kk_key", "'kk:' || kk_number"),
)
# Published schemas are swapped in whole by publish; their tables are re-keyed in place, never dropped.
PUBLISHED_SCHEMAS = frozenset({"marts", "restricted", "analyst", "bi"})
NOT_DERIVED_SCHEMAS = ("raw", "ops", "access", "information_schema", "pg_catalog", "pg_toast")
INCREMENTAL = re.compile(r"materialized\s*=\s*['\"]incremental['\"]")


@dataclass
class RekeyReport:
    old_key_id: str
    new_key_id: str
    pseudonyms: int = 0  # distinct identifiers re-pseudonymised
    rows_by_table: dict[str, int] = field(default_factory=dict)  # "schema.table.column" -> rows changed
    dropped: list[str] = field(default_factory=list)  # incremental dbt tables dropped, rebuilt by the next night

    def lines(self) -> list[str]:
        out = [f"rekey {self.old_key_id} → {self.new_key_id}: {self.pseudonyms} distinct pseudonyms"]
        width = max((len(name) for name in self.rows_by_table), default=10)
        out += [f"  {name:<{width}} {rows:>9} rows" for name, rows in self.rows_by_table.items()]
        out += [f"  dropped (rebuilt whole by the next dbt build): {name}" for name in self.dropped]
        return out


def incremental_models(models_dir: Path | None = None) -> list[str]:
    """Names of the dbt models materialised incrementally (their tables keep rows across builds)."""
    from konvergensi.settings import DBT_PROJECT_DIR

    directory = models_dir or DBT_PROJECT_DIR / "models"
    return sorted(path.stem for path in directory.rglob("*.sql") if INCREMENTAL.search(path.read_text(encoding="utf-8")))


def rekey(connection: psycopg.Connection, old_key: bytes, new_key: bytes) -> RekeyReport:
    """Re-pseudonymise the warehouse from `old_key` to `new_key` in ONE transaction (as the database owner).

    1. Refuse unless `old_key` is the warehouse's current key, every raw pseudonym column is known
       (RAW_PSEUDONYMS) and `old_key` reproduces every stored pseudonym from its identifier.
    2. Map each old pseudonym to the new one (computed here: no pgcrypto), COPY the map into a
       temporary table, and update set-based: the raw columns, then every `*_key` text column of
       the derived schemas (identity, snapshots, intermediate, the marts) whose values are in the map.
    3. Drop the incremental dbt tables outside the published schemas (their keys may be derived
       from pseudonyms): the next build rebuilds them whole from the re-keyed raw.
    4. Retire the old key id, make the new one current, and re-label the batches and extracts.
    """
    old, new = Pseudonymiser(old_key), Pseudonymiser(new_key)
    report = RekeyReport(old.key_id, new.key_id)
    if old.key_id == new.key_id:
        raise ValueError(f"the old and the new key are the same (key id {old.key_id})")
    with connection.transaction():
        connection.execute("lock table ops.pseudonym_keys in exclusive mode")
        tables = sorted({table for table, _, _ in RAW_PSEUDONYMS})
        connection.execute(sql.SQL("lock table {} in exclusive mode").format(
            sql.SQL(", ").join(sql.Identifier(*t.split(".")) for t in tables)))
        current = current_key_id(connection)
        if current != old.key_id:
            raise KeyMismatch(f"the old key has key id {old.key_id}, but the warehouse's current key id is {current}: "
                              "give the key the warehouse's pseudonyms were made with as the old key")
        known = {(table, column) for table, column, _ in RAW_PSEUDONYMS}
        present = set(connection.execute(  # a partitioned table's partitions are rekeyed through it
            "select c.table_schema || '.' || c.table_name, c.column_name from information_schema.columns as c "
            "join pg_class as r on r.oid = (quote_ident(c.table_schema) || '.' || quote_ident(c.table_name))::regclass "
            "where c.table_schema = 'raw' and c.column_name like '%%\\_key' and not r.relispartition"
        ).fetchall())
        if present - known:
            raise RuntimeError(f"rekey does not know what these raw columns are pseudonyms of: {sorted(present - known)}")
        mapping: dict[str, str] = {}
        for table, column, material in RAW_PSEUDONYMS:
            query = sql.SQL("select distinct {material}, {column} from {table} where {column} is not null").format(
                material=sql.SQL(material), column=sql.Identifier(column), table=sql.Identifier(*table.split(".")))
            wrong = 0
            for text, stored in connection.execute(query):
                if text is None or old.one(text) != stored:
                    wrong += 1
                    continue
                mapping[stored] = new.one(text)
            if wrong:
                raise KeyMismatch(f"{table}.{column}: {wrong} stored pseudonym(s) are not the old key's HMAC of their "
                                  "identifier; nothing was changed")
        report.pseudonyms = len(mapping)
        connection.execute("create temp table rekey_map (old text primary key, new text not null) on commit drop")
        with connection.cursor().copy("copy rekey_map (old, new) from stdin") as copy:
            for before, after in mapping.items():
                copy.write_row((before, after))
        connection.execute("analyze rekey_map")
        for table, column, _ in RAW_PSEUDONYMS:
            report.rows_by_table[f"{table}.{column}"] = _remap(connection, *table.split("."), column)
        incremental = set(incremental_models())
        derived = connection.execute(
            """
            select c.table_schema, c.table_name, c.column_name
            from information_schema.columns c
            join information_schema.tables t using (table_schema, table_name)
            where t.table_type = 'BASE TABLE' and c.column_name like '%%\\_key'
              and c.data_type in ('text', 'character varying')
              and c.table_schema <> all(%s) and c.table_schema not like 'pg\\_%%'
            order by 1, 2, 3
            """,
            (list(NOT_DERIVED_SCHEMAS),),
        ).fetchall()
        for schema, table, column in derived:
            if table in incremental and schema not in PUBLISHED_SCHEMAS:
                name = f"{schema}.{table}"
                if name not in report.dropped:
                    connection.execute(sql.SQL("drop table {} cascade").format(sql.Identifier(schema, table)))
                    report.dropped.append(name)
                continue
            changed = _remap(connection, schema, table, column)
            if changed:
                report.rows_by_table[f"{schema}.{table}.{column}"] = changed
        connection.execute(
            "update ops.pseudonym_keys set state = 'retired', retired_at = now() where key_id = %s", (old.key_id,))
        connection.execute(
            "insert into ops.pseudonym_keys (key_id, state) values (%s, 'current') "
            "on conflict (key_id) do update set state = 'current', retired_at = null", (new.key_id,))
        for table in ("ops.load_batches", "ops.source_extracts"):
            connection.execute(sql.SQL("update {} set pseudonym_key_id = %s where pseudonym_key_id = %s").format(
                sql.Identifier(*table.split("."))), (new.key_id, old.key_id))
        connection.execute(  # the erased people's pseudonyms, so that erasures still apply (konvergensi.retention)
            "update ops.erasure_log e set key_id = %s, subject_keys = array("
            "select coalesce(m.new, u.k) from unnest(e.subject_keys) with ordinality u(k, n) "
            "left join rekey_map m on m.old = u.k order by u.n) where key_id = %s", (new.key_id, old.key_id))
        connection.execute(
            "insert into ops.pseudonym_rekeys (old_key_id, new_key_id, pseudonyms, rows_by_table, dropped) "
            "values (%s, %s, %s, %s, %s)",
            (old.key_id, new.key_id, report.pseudonyms, psycopg.types.json.Jsonb(report.rows_by_table), report.dropped),
        )
    return report


def _remap(connection: psycopg.Connection, schema: str, table: str, column: str) -> int:
    statement = sql.SQL("update {table} as t set {column} = m.new from rekey_map m where t.{column} = m.old").format(
        table=sql.Identifier(schema, table), column=sql.Identifier(column))
    return connection.execute(statement).rowcount


def _key_from(variable: str) -> bytes:
    from konvergensi.settings import parse_pseudonym_key

    value = os.environ.get(variable, "")
    if not value.strip():
        raise SystemExit(f"{variable} is not set: export the key (hex) in that variable")
    return parse_pseudonym_key(value, variable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-key", help="print a new random key (64 hex characters)")
    show = commands.add_parser("key-id", help="print the id of a key and the warehouse's current key id")
    show.add_argument("--key-env", default="KONVERGENSI_PSEUDONYM_KEY")
    change = commands.add_parser("rekey", help="re-pseudonymise the warehouse from one key to another")
    change.add_argument("--old-key-env", required=True, help="variable holding the key in use now (hex)")
    change.add_argument("--new-key-env", required=True, help="variable holding the new key (hex)")
    change.add_argument("--url", help="warehouse URL, as its owner (default WAREHOUSE_URL)")
    args = parser.parse_args(argv)
    if args.command == "new-key":
        print(secrets.token_hex(32))
        return 0
    from konvergensi.db import connect, ensure_schema

    if args.command == "key-id":
        identifier = key_id(_key_from(args.key_env))
        with connect() as connection:
            print(f"{args.key_env}: key id {identifier}; warehouse: key id {current_key_id(connection)}")
        return 0
    old, new = _key_from(args.old_key_env), _key_from(args.new_key_env)
    with connect(args.url, autocommit=True) as connection:
        ensure_schema(connection)
        try:
            report = rekey(connection, old, new)
        except (KeyMismatch, ValueError) as error:
            print(f"rekey refused: {error}", file=sys.stderr)
            return 2
    print("\n".join(report.lines()))
    print(f"Now set KONVERGENSI_PSEUDONYM_KEY to the new key ({args.new_key_env}) wherever the nightly tasks run.")
    return 0


ANALYST_KEY_CONTEXT = b"konvergensi analyst marts v1"


def analyst_hmac_pads(pseudonym_key: bytes) -> tuple[str, str]:
    """The inner and outer HMAC pads (hex) of the analyst marts' key, for dbt's analyst_key macro.

    The analyst key is derived from the pseudonym key (HMAC of a fixed context), so the analyst marts'
    keys differ from the warehouse's pseudonyms: an analyst cannot join them to the internal marts or
    the field teams' lists. PostgreSQL has sha256() but no HMAC, so dbt gets the two padded keys and
    computes sha256(outer || sha256(inner || message)), which is RFC 2104 HMAC-SHA256.
    """
    key = hmac.new(pseudonym_key, ANALYST_KEY_CONTEXT, hashlib.sha256).digest()
    padded = key.ljust(hashlib.sha256().block_size, b"\0")
    return bytes(b ^ 0x36 for b in padded).hex(), bytes(b ^ 0x5C for b in padded).hex()


if __name__ == "__main__":
    sys.exit(main())
