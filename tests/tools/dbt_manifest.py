"""The dbt manifest the unit tests read: `make setup` writes it (dbt parse); a stale one is parsed again.

A manifest older than any file of the project is parsed again first, so no test judges yesterday's
models.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
PROJECT_FILES = ("models", "macros", "seeds", "snapshots", "tests", "dbt_project.yml")


def load_manifest() -> dict:
    newest = max(
        path.stat().st_mtime
        for name in PROJECT_FILES
        for path in ([DBT_PROJECT / name] if (DBT_PROJECT / name).is_file() else (DBT_PROJECT / name).rglob("*"))
    )
    if not MANIFEST.exists() or MANIFEST.stat().st_mtime < newest:
        dbt = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin" / "dbt"
        subprocess.run([str(dbt) if dbt.exists() else "dbt", "parse", "--quiet"], cwd=DBT_PROJECT, check=True,
                       env={**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT)})
    return json.loads(MANIFEST.read_text())


def layer(node: dict) -> str:
    """The layer of a model: the first folder under models/."""
    return Path(node["original_file_path"]).parts[1]
