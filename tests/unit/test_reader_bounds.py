"""Memory stays bounded on the big bad inputs: measured, in a subprocess of its own, as peak RSS.

Each case runs the real reader in a fresh Python process that first reads a tiny file (so polars'
thread pools and imports are in the baseline), notes its peak RSS (resource.getrusage), then reads
the big file and reports how much the peak grew. The CSV reader works in blocks; the block is set
to 1 MB here (16 MB in production) so that a 48 MB file spans 48 of them and holding it whole would show.
The catalogue of outcomes is in tests/integration/test_bad_input_files.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

pytestmark = pytest.mark.unit

HEADER = "NIK;Nama;JK;Tgl Lahir;Pukesmas;Desa/Kel;Posyandu;Alamat;Tanggal Pengukuran;Berat;Tinggi;Cara Ukur\n"
ROW = "3375014501230001;Siti Aminah;P;05/01/2023;MEDONO;Medono;Posyandu Melati;Jl. Mawar 1;10/01/2024;9,5;75,2;Telentang\n"
MEGABYTES = 64
BIG_MEGABYTES = 48

PROBE = r"""
import json, resource, sys
from pathlib import Path
import konvergensi.ingest.readers as readers
import openpyxl  # imported by the xlsx reader: part of the baseline

readers.CSV_BLOCK_BYTES = 1 << 20
path, warm = Path(sys.argv[1]), Path(sys.argv[2])
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for _ in readers.read_chunks(warm, readers.sniff_format(warm)):
    pass
baseline = peak_mb()
rows, error = 0, None
try:
    for chunk in readers.read_chunks(path, readers.sniff_format(path)):
        rows += chunk.height
except readers.UnreadableFile as failure:
    error = str(failure)
print(json.dumps({"rows": rows, "error": error, "growth_mb": peak_mb() - baseline, "baseline_mb": baseline}))
"""


def _write_repeated(path: Path, head: str, line: str, megabytes: int) -> int:
    """head, then `line` repeated to about `megabytes` MB, written a block at a time; the number of lines."""
    per_block = (1 << 20) // len(line)
    block = (line * per_block).encode()
    with path.open("wb") as handle:
        handle.write(head.encode())
        for _ in range(megabytes):
            handle.write(block)
    return per_block * megabytes


def _probe(path: Path, tmp_path: Path) -> dict:
    warm = tmp_path / "warm.csv"
    warm.write_text(HEADER + ROW)
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "include")}
    done = subprocess.run([sys.executable, "-c", PROBE, str(path), str(warm)], capture_output=True, text=True,
                          env=environment, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_big_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    """Measured with 1 MB blocks: the peak grows by about 22 MB for 48 MB (with 4 MB blocks by 70-105 MB
    for 32, 64 or 128 MB alike: polars' per-thread buffers); read in one block, a 64 MB file grows it
    by 325 MB, five times the file."""
    path = tmp_path / "big.csv"
    lines = _write_repeated(path, HEADER, ROW, BIG_MEGABYTES)
    result = _probe(path, tmp_path)
    print(f"\n{BIG_MEGABYTES} MB CSV, {lines:,} rows: peak RSS grew {result['growth_mb']:.0f} MB "
          f"over a baseline of {result['baseline_mb']:.0f} MB")
    assert result["error"] is None and result["rows"] == lines
    assert result["growth_mb"] < BIG_MEGABYTES, "the file was held whole"


def test_an_unclosed_quote_is_refused_without_reading_the_rest(tmp_path: Path) -> None:
    """The quote opens on line 3 and never closes: before the bound the carry-over held the whole file."""
    path = tmp_path / "quote.csv"
    _write_repeated(path, HEADER + ROW + ROW.replace("Jl.", '"Jl.'), ROW, MEGABYTES)
    result = _probe(path, tmp_path)
    print(f"\nunclosed quote in a {MEGABYTES} MB CSV: {result['error']!r}, peak RSS grew {result['growth_mb']:.0f} MB")
    assert result["error"].startswith("line 3: a quote opened here is not closed within 100 lines")
    assert result["rows"] <= 1
    assert result["growth_mb"] < 16


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(HEADER.strip().split(";"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/sharedStrings.xml" or info.filename.endswith("sheet1.xml"):
                with out.open(info.filename, "w") as part:  # openpyxl would load shared strings whole
                    part.write(data)
                    for _ in range(256):
                        part.write(b" " * (1 << 20))
            else:
                out.writestr(info.filename, data)
    assert path.stat().st_size < 4 << 20
    result = _probe(path, tmp_path)
    print(f"\n{path.stat().st_size:,}-byte zip bomb: {result['error']!r}, peak RSS grew {result['growth_mb']:.0f} MB")
    assert "a zip bomb, not a spreadsheet" in result["error"]
    assert result["growth_mb"] < 16
