"""File writers for the four ways puskesmas deliver exports; all stream row by row.

Cell rendering by format:

=====================  ==============  ======================  ======================  ==================
cell                   xlsx            csv (comma)             csv (semicolon)         html .xls
=====================  ==============  ======================  ======================  ==================
``str``                text cell       as is                   as is                   escaped text
``float``              number cell     ``10.5``                ``10,5``                ``10.5``
``int``                number cell     ``10945``               ``10945``               ``10945``
``NikNumber``          number cell     ``3375...0001.0``       ``3375...0001,0``       ``3375...0001.0``
``SpreadsheetNumber``  text cell       ``3.37501E+15``         ``3,37501E+15``         ``3.37501E+15``
``None``               no cell         empty                   empty                   empty ``<td></td>``
=====================  ==============  ======================  ======================  ==================

Files are written under a hidden temporary name and renamed when complete, so a loader watching
the landing directory never sees half a file.

xlsxwriter needs about 0.4 ms per row on a small machine, more than generating the row, so a run
hands its xlsx files to helper processes (:class:`XlsxWorkerPool`) and keeps generating meanwhile.
Each file goes whole to one helper, which makes the same xlsxwriter calls in the same order, so
the bytes do not change.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import multiprocessing
import os
import queue
import threading
import traceback
from html import escape
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

import xlsxwriter

FORMATS: tuple[str, ...] = ("xlsx", "csv_comma", "csv_semicolon", "html_xls")
EXTENSIONS = {"xlsx": "xlsx", "csv_comma": "csv", "csv_semicolon": "csv", "html_xls": "xls"}
DEFAULT_FORMAT_MIX = {"xlsx": 0.45, "csv_comma": 0.25, "csv_semicolon": 0.15, "html_xls": 0.15}
FIXED_DOCUMENT_DATE = dt.datetime(2025, 1, 1, 0, 0, 0)


class NikNumber(int):
    """A NIK that went through a spreadsheet as a number."""


class SpreadsheetNumberText(str):
    """Number text as a spreadsheet displays it (scientific NIK); semicolon exports use a decimal comma."""


class RowWriter(Protocol):
    def write_row(self, row: list[object]) -> None: ...

    def close(self) -> None: ...


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def _text(value: object, decimal: str) -> str:
    """Render one cell for a text format (``type() is`` checks: NIK cells subclass int and str)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[return-value]
    if value is None:
        return ""
    if kind is float:
        text = repr(value + 0.0)  # type: ignore[operator]  # + 0.0 turns -0.0 into 0.0
        return text if decimal == "." else text.replace(".", decimal)
    if isinstance(value, NikNumber):
        return f"{int(value)}{decimal}0"
    if isinstance(value, SpreadsheetNumberText):
        return str(value) if decimal == "." else value.replace(".", decimal)
    return str(value)


class CsvRowWriter:
    """Comma CSV (UTF-8) or semicolon CSV as Excel in an Indonesian locale saves it (UTF-8 with BOM, decimal comma)."""

    def __init__(self, path: Path, headers: tuple[str, ...], semicolon: bool) -> None:
        self._path = path
        self._temp = _temporary(path)
        self._decimal = "," if semicolon else "."
        self._handle = self._temp.open("w", newline="", encoding="utf-8-sig" if semicolon else "utf-8")
        self._csv = csv.writer(self._handle, delimiter=";" if semicolon else ",", lineterminator="\r\n")
        self._csv.writerow(headers)

    def write_row(self, row: list[object]) -> None:
        decimal = self._decimal
        self._csv.writerow([v if type(v) is str else _text(v, decimal) for v in row])

    def close(self) -> None:
        self._handle.close()
        os.replace(self._temp, self._path)


class HtmlXlsRowWriter:
    """An HTML table saved as ``.xls``, as web applications' "export to Excel" buttons produce."""

    def __init__(self, path: Path, headers: tuple[str, ...], header_tag: str) -> None:
        self._path = path
        self._temp = _temporary(path)
        self._handle = self._temp.open("w", newline="", encoding="utf-8")
        self._handle.write(
            '<html xmlns:x="urn:schemas-microsoft-com:office:excel">\r\n<head>\r\n'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n<body>\r\n'
            '<table border="1">\r\n<tr>'
        )
        self._handle.write("".join(f"<{header_tag}>{escape(h)}</{header_tag}>" for h in headers))
        self._handle.write("</tr>\r\n")

    def write_row(self, row: list[object]) -> None:
        cells = "".join(f"<td>{escape(_text(v, '.'), quote=False)}</td>" for v in row)
        self._handle.write(f"<tr>{cells}</tr>\r\n")

    def close(self) -> None:
        self._handle.write("</table>\r\n</body>\r\n</html>\r\n")
        self._handle.close()
        os.replace(self._temp, self._path)


class XlsxRowWriter:
    """xlsxwriter in constant-memory mode; document dates fixed so that the bytes are reproducible."""

    def __init__(self, path: Path, headers: tuple[str, ...], zip64: bool = False) -> None:
        self._path = path
        self._temp = _temporary(path)
        self._book = xlsxwriter.Workbook(str(self._temp), {"constant_memory": True})
        if zip64:  # a sheet of more than 2 GB of XML (the bench's million rows)
            self._book.use_zip64()
        self._book.set_properties({"created": FIXED_DOCUMENT_DATE, "author": "e-PPGBM", "title": "Data Balita"})
        self._sheet = self._book.add_worksheet("Sheet1")
        self._row = 0
        for column, header in enumerate(headers):
            self._sheet.write_string(0, column, header)

    def write_row(self, row: list[object]) -> None:
        self._row += 1
        r = self._row
        sheet = self._sheet
        for column, value in enumerate(row):
            if value is None:
                continue
            kind = type(value)
            if kind is str or kind is SpreadsheetNumberText:
                if value:
                    sheet.write_string(r, column, value)  # type: ignore[arg-type]
            elif kind is NikNumber:
                sheet.write_number(r, column, float(value))  # type: ignore[arg-type]
            else:
                sheet.write_number(r, column, value)  # type: ignore[arg-type]

    def close(self) -> None:
        self._book.close()
        os.replace(self._temp, self._path)


def _xlsx_worker_main(connection: Connection) -> None:
    """Helper process loop: ``open``/``rows``/``close`` per file, ``stop`` at the end of the run."""
    writer: XlsxRowWriter | None = None
    try:
        while True:
            message = connection.recv()
            command = message[0]
            if command == "open":
                writer = XlsxRowWriter(Path(message[1]), message[2], *message[3:])
            elif command == "rows":
                assert writer is not None
                for row in message[1]:
                    writer.write_row(row)
            elif command == "close":
                assert writer is not None
                writer.close()
                writer = None
            elif command == "stop":
                connection.send(("ok", ""))
                return
    except BaseException:  # report anything, including KeyboardInterrupt, to the parent
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


class XlsxWorker:
    """A helper process running xlsxwriter; ``finish()`` waits until every file is complete.

    A feeder thread moves batches from a bounded queue into the pipe, so the generating process can
    run ahead into the next file while this helper is still busy (and another helper takes that
    file), but never by more than ``QUEUE_BATCHES`` batches: memory stays bounded.
    """

    BATCH_ROWS = 1000
    QUEUE_BATCHES = 16

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_xlsx_worker_main, args=(child_end,), daemon=True)
        self._process.start()
        child_end.close()
        self._queue: queue.Queue[tuple] = queue.Queue(maxsize=self.QUEUE_BATCHES)
        self._error: str | None = None
        self._feeder = threading.Thread(target=self._feed, name="xlsx-feeder", daemon=True)
        self._feeder.start()

    @classmethod
    def start(cls) -> XlsxWorker | None:
        """A worker, or None where child processes are not allowed (e.g. inside a daemon process)."""
        try:
            return cls()
        except (AssertionError, OSError):
            return None

    def send(self, message: tuple) -> None:
        if self._error is not None:
            raise RuntimeError(f"xlsx writer process failed:\n{self._error}")
        self._queue.put(message)

    def finish(self) -> None:
        self._queue.put(("stop",))
        self._feeder.join()
        status, detail = ("error", self._error) if self._error is not None else self._receive()
        self._process.join()
        if status != "ok":
            raise RuntimeError(f"xlsx writer process failed:\n{detail}")

    def abandon(self) -> None:
        """Stop the helper after an error in the parent; files in flight stay as hidden ``.part`` files."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(("stop",))

    def _feed(self) -> None:
        """Move queued messages into the pipe; after a failure keep draining so the producer never blocks."""
        while True:
            message = self._queue.get()
            if self._error is None:
                try:
                    self._connection.send(message)
                except (OSError, EOFError, ValueError):
                    self._error = self._receive()[1] or "helper process stopped"
            if message[0] == "stop":
                return

    def _receive(self) -> tuple[str, str]:
        try:
            return self._connection.recv()
        except (EOFError, OSError):
            return ("error", f"helper process ended with exit code {self._process.exitcode}")


class XlsxWorkerPool:
    """A few :class:`XlsxWorker` taking files in turn (a file always goes whole to one worker)."""

    def __init__(self, workers: list[XlsxWorker]) -> None:
        self._workers = workers
        self._turn = 0

    @classmethod
    def start(cls, size: int = 2) -> XlsxWorkerPool | None:
        """A pool, or None where child processes cannot be started (the caller then writes in-process)."""
        workers: list[XlsxWorker] = []
        for _ in range(max(size, 1)):
            worker = XlsxWorker.start()
            if worker is None:
                break
            workers.append(worker)
        return cls(workers) if workers else None

    def next_worker(self) -> XlsxWorker:
        worker = self._workers[self._turn % len(self._workers)]
        self._turn += 1
        return worker

    def finish(self) -> None:
        for worker in self._workers:
            worker.finish()

    def abandon(self) -> None:
        for worker in self._workers:
            worker.abandon()


class BackgroundXlsxRowWriter:
    """Forwards rows in batches to an :class:`XlsxWorker`; the file is complete after ``finish()``."""

    def __init__(self, worker: XlsxWorker, path: Path, headers: tuple[str, ...], zip64: bool = False) -> None:
        self._worker = worker
        self._batch: list[list[object]] = []
        worker.send(("open", str(path), headers, zip64))

    def write_row(self, row: list[object]) -> None:
        self._batch.append(row)
        if len(self._batch) >= XlsxWorker.BATCH_ROWS:
            self._worker.send(("rows", self._batch))
            self._batch = []

    def close(self) -> None:
        if self._batch:
            self._worker.send(("rows", self._batch))
            self._batch = []
        self._worker.send(("close",))


def open_writer(
    fmt: str, path: Path, headers: tuple[str, ...], html_header_th: bool = True,
    xlsx_pool: XlsxWorkerPool | None = None, zip64: bool = False,
) -> RowWriter:
    if fmt == "xlsx":
        if xlsx_pool is not None:
            return BackgroundXlsxRowWriter(xlsx_pool.next_worker(), path, headers, zip64)
        return XlsxRowWriter(path, headers, zip64)
    if fmt == "csv_comma":
        return CsvRowWriter(path, headers, semicolon=False)
    if fmt == "csv_semicolon":
        return CsvRowWriter(path, headers, semicolon=True)
    if fmt == "html_xls":
        return HtmlXlsRowWriter(path, headers, "th" if html_header_th else "td")
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
