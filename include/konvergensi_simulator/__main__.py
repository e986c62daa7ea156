"""Command line: ``python -m konvergensi_simulator eppgbm --out DIR [...]``, ``... bench-csv``,
``... city --out LANDING --store STORE --dtsen-url URL [...]`` and ``... serve --store STORE [...]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from konvergensi_simulator.city import write_city_sources
from konvergensi_simulator.dirt import DirtRates
from konvergensi_simulator.exports import (
    write_bench_csv,
    write_eppgbm_exports,
    write_truth,
)
from konvergensi_simulator.server import SourceServer
from konvergensi_simulator.writers import FORMATS


def _format_mix(text: str) -> dict[str, float]:
    """``xlsx=45,csv_comma=25,csv_semicolon=15,html_xls=15`` -> weights."""
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in FORMATS or not weight:
            raise argparse.ArgumentTypeError(f"expected NAME=WEIGHT with NAME in {', '.join(FORMATS)}, got {part!r}")
        mix[name] = float(weight)
    return mix


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m konvergensi_simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    eppgbm = commands.add_parser("eppgbm", help="write monthly e-PPGBM exports, one file per puskesmas per month")
    eppgbm.add_argument("--out", required=True, help="landing directory to write the exports into")
    eppgbm.add_argument("--seed", type=int, default=42)
    eppgbm.add_argument("--children", type=int, default=23000, help="children under five (standing population)")
    eppgbm.add_argument("--months", type=int, default=12)
    eppgbm.add_argument("--end-month", default="2026-10", help="last month, YYYY-MM")
    eppgbm.add_argument("--facilities", default=None, help="facilities CSV (default: the ref_facilities seed)")
    eppgbm.add_argument("--dirt-scale", type=float, default=1.0, help="multiplies every dirt rate; 0 = clean")
    eppgbm.add_argument("--formats", type=_format_mix, default=None,
                        help="format mix, e.g. xlsx=45,csv_comma=25,csv_semicolon=15,html_xls=15")
    eppgbm.add_argument("--truth", default=None, help="write the ground-truth JSON here (not in --out)")

    city = commands.add_parser("city", help="e-PPGBM exports plus every convergence source, one population")
    city.add_argument("--out", required=True, help="landing directory (e-PPGBM exports, bkkbn/)")
    city.add_argument("--store", required=True, help="store directory for the pulled sources (JSON lines)")
    city.add_argument("--dtsen-url", default=None, help="PostgreSQL URL to write schema dtsen into (omit to skip)")
    city.add_argument("--seed", type=int, default=42)
    city.add_argument("--children", type=int, default=23000)
    city.add_argument("--months", type=int, default=12)
    city.add_argument("--end-month", default="2026-10")
    city.add_argument("--facilities", default=None)
    city.add_argument("--dirt-scale", type=float, default=1.0)
    city.add_argument("--truth", default=None, help="write the ground-truth JSON here (not in --out)")
    city.add_argument("--as-of", default=None, help="instant the DTSEN database shows (default: end of --end-month)")
    city.add_argument("--linkage-truth", default=None,
                      help="directory (not in --out) for the true household, child and pregnancy of every record")

    serve = commands.add_parser("serve", help="serve a store as the services API and the PUPR feature service")
    serve.add_argument("--store", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--token", default="secret")
    serve.add_argument("--as-of", default=None, help="hide versions updated after this instant")
    serve.add_argument("--fail-rate", type=float, default=0.0)
    serve.add_argument("--stall-rate", type=float, default=0.0)
    serve.add_argument("--stall-seconds", type=float, default=5.0)
    serve.add_argument("--seed", type=int, default=0)

    bench = commands.add_parser("bench-csv", help="write one large comma CSV in the export layout")
    bench.add_argument("--out", required=True, help="CSV file to write")
    bench.add_argument("--rows", type=int, required=True)
    bench.add_argument("--seed", type=int, default=42)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ValueError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")


def _run(args: argparse.Namespace) -> int:
    if args.command == "eppgbm":
        if args.truth:
            write_truth({}, args.truth, args.out)  # fail before the long run, not after it
        truth = write_eppgbm_exports(
            args.out, seed=args.seed, children=args.children, months=args.months, end_month=args.end_month,
            dirt=DirtRates(), dirt_scale=args.dirt_scale, facilities_csv=args.facilities, formats=args.formats,
        )
        if args.truth:
            write_truth(truth, args.truth, args.out)
        print(
            f"wrote {len(truth['files'])} files, {truth['rows']:,} rows, {truth['children_simulated']:,} children "
            f"to {args.out} in {truth['seconds']}s",
            file=sys.stderr,
        )
    elif args.command == "city":
        if args.truth:
            write_truth({}, args.truth, args.out)
        truth = write_city_sources(
            args.out, args.store, args.dtsen_url, seed=args.seed, children=args.children, months=args.months,
            end_month=args.end_month, dirt_scale=args.dirt_scale, as_of=args.as_of, facilities_csv=args.facilities,
            linkage_truth=args.linkage_truth,
        )
        if args.truth:
            write_truth(truth, args.truth, args.out)
        print(
            f"city: {len(truth['eppgbm']['files'])} e-PPGBM files ({truth['eppgbm']['rows']:,} rows), "
            f"{truth['store_lines']['layanan']:,} layanan, {truth['store_lines']['ibu-hamil']:,} ibu-hamil, "
            f"{truth['store_lines']['survei_rumah_tangga']:,} surveys, {truth['store_lines']['proyek']:,} projects, "
            f"{len(truth['bkkbn']['file_names'])} BKKBN files ({truth['bkkbn'].get('rows', 0):,} rows), "
            f"{truth['dtsen'].get('rumah_tangga', 0):,} DTSEN households in {truth['seconds']}s",
            file=sys.stderr,
        )
    elif args.command == "serve":
        server = SourceServer(
            args.store, token=args.token, as_of=args.as_of, fail_rate=args.fail_rate, stall_rate=args.stall_rate,
            stall_seconds=args.stall_seconds, seed=args.seed, host=args.host, port=args.port,
        )
        print(server.url, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    else:
        summary = write_bench_csv(args.out, args.rows, seed=args.seed, progress=True)
        print(f"wrote {summary['rows']:,} rows to {summary['path']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
