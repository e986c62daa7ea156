"""The data directory's index.html links what exists and names what is absent (no warehouse needed)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from konvergensi import docs_site

pytestmark = pytest.mark.unit

# a socket directory that does not exist: the warehouse is unreachable at once
NO_WAREHOUSE = "postgresql://nobody@/nowhere?host=/nonexistent-socket-dir"


@pytest.fixture(autouse=True)
def no_data_docs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(docs_site.gate, "data_docs_index", lambda: tmp_path / "no-gx" / "index.html")


def _hrefs(index: Path) -> list[str]:
    return re.findall(r'href="([^"]+)"', index.read_text())


def test_an_empty_data_directory_gets_an_index_naming_every_absent_piece(tmp_path: Path) -> None:
    site = docs_site.build(tmp_path, NO_WAREHOUSE, dbt_docs=False)
    text = site.index.read_text()
    assert "Belum ada malam yang dipublikasikan." in text
    absent = [link.label for link in site.links if link.target is None]
    assert len(absent) == 4, absent  # dbt docs, Data Docs, report, Superset; the guide is in the project
    assert all((tmp_path / href).exists() for href in _hrefs(site.index))


def test_reports_docs_and_a_running_superset_are_linked(tmp_path: Path) -> None:
    latest = tmp_path / "reports" / "latest"
    latest.mkdir(parents=True)
    for name in ("laporan-konvergensi-2026-11-02.html", "laporan-konvergensi-2026-11-02.pdf", "notes.txt"):
        (latest / name).write_text("x")
    (tmp_path / "docs" / "dbt").mkdir(parents=True)
    (tmp_path / "docs" / "dbt" / "static_index.html").write_text("<html></html>")
    (tmp_path / "superset").mkdir()
    (tmp_path / "superset" / "superset.json").write_text(json.dumps({"pid": os.getpid(), "port": 8123, "server": 1}))
    site = docs_site.build(tmp_path, NO_WAREHOUSE, dbt_docs=False)
    hrefs = _hrefs(site.index)
    assert "docs/dbt/static_index.html" in hrefs
    assert "reports/latest/laporan-konvergensi-2026-11-02.html" in hrefs
    assert "reports/latest/laporan-konvergensi-2026-11-02.pdf" in hrefs
    assert not any(href.endswith("notes.txt") for href in hrefs)
    assert "http://127.0.0.1:8123/superset/dashboard/konvergensi-stunting/" in hrefs
    assert all((tmp_path / href).exists() for href in hrefs if not href.startswith("http"))


def test_a_pid_file_of_a_dead_superset_is_not_a_link(tmp_path: Path) -> None:
    (tmp_path / "superset").mkdir()
    (tmp_path / "superset" / "superset.json").write_text(json.dumps({"pid": 999999999, "port": 8088, "server": 1}))
    assert docs_site.superset_url(tmp_path) is None
