"""Row count and content fingerprint of every table in the published (or audit) schemas.

A refactor of the dbt models that must not change what they publish is proven by building the same
inputs before and after and comparing the fingerprints:

    python -m tests.tools.mart_fingerprints --save before.json            # on the old code
    python -m tests.tools.mart_fingerprints --compare before.json         # on the new code

The fingerprint of a table is md5 over its rows as text, sorted, joined with '|': equal fingerprints
mean the same rows, the same column order and the same values. --schema picks the schemas (default
marts and restricted; tables are named without their schema, so that an audit
schema compares with the published one); WAREHOUSE_URL (or --url) names the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql


def fingerprints(url: str, schemas: list[str], excluded: tuple[str, ...] = ()) -> dict[str, dict[str, object]]:
    """{table: {"rows": n, "md5": hex}} for every base table of the schemas, keyed without the schema.

    `excluded` names columns ("table.column") left out of the fingerprint, e.g. one computed from now().
    """
    result: dict[str, dict[str, object]] = {}
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema = any(%s) and table_type = 'BASE TABLE' order by 1, 2",
            (schemas,),
        ).fetchall()
        for schema, table in tables:
            columns = [name for (name,) in connection.execute(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            ).fetchall() if f"{table}.{name}" not in excluded]
            row = sql.SQL("row({})").format(sql.SQL(", ").join(sql.Identifier("t", name) for name in columns))
            rows, digest = connection.execute(
                sql.SQL("select count(*), md5(coalesce(string_agg({row}::text, '|' order by {row}::text), ''))"
                        " from {}.{} as t").format(sql.Identifier(schema), sql.Identifier(table), row=row)
            ).fetchone()
            result[table] = {"rows": rows, "md5": digest}
    return result


def table(current: dict[str, dict[str, object]], before: dict[str, dict[str, object]] | None) -> tuple[str, int]:
    """The fingerprints as a text table; with `before`, a column saying whether each one is equal."""
    names = sorted(set(current) | set(before or {}))
    width = max([len(name) for name in names] + [5])
    header = f"{'table':<{width}}  {'rows':>9}  {'md5':<32}"
    if before is not None:
        header += f"  {'rows before':>11}  {'md5 before':<32}  same"
    lines = [header, "-" * len(header)]
    differences = 0
    for name in names:
        now = current.get(name, {"rows": "-", "md5": "-"})
        line = f"{name:<{width}}  {now['rows']:>9}  {now['md5']:<32}"
        if before is not None:
            old = before.get(name, {"rows": "-", "md5": "-"})
            same = old == now
            differences += not same
            line += f"  {old['rows']:>11}  {old['md5']:<32}  {'yes' if same else 'NO'}"
        lines.append(line)
    return "\n".join(lines), differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("WAREHOUSE_URL"))
    parser.add_argument("--schema", action="append", help="schema to fingerprint (repeatable)")
    parser.add_argument("--exclude-column", action="append", default=[], metavar="TABLE.COLUMN",
                        help="leave this column out of its table's fingerprint (repeatable)")
    parser.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with fingerprints saved earlier; exit 1 on a difference")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("set WAREHOUSE_URL or pass --url")
    current = fingerprints(args.url, args.schema or ["marts", "restricted"], tuple(args.exclude_column))
    before = json.loads(args.compare.read_text()) if args.compare else None
    text, differences = table(current, before)
    print(text)
    if args.save:
        args.save.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    if before is not None:
        print(f"\n{len(current)} tables, {differences} different")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
