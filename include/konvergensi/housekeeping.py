"""Housekeeping after each night: keep the last N nights of GX results, Data Docs and Airflow task logs.

N is KONVERGENSI_KEEP_NIGHTS (default 30). Without it both grow by a night's worth every night
(the gate writes one validation result and one Data Docs page per suite; Airflow one log file per
task attempt, and Airflow 3 has no setting that removes task log files).

- GX (file context under expectations/uncommitted/): results are stored as
  `validations/<suite>/<run name>/<run time>/<batch>.json` and their pages as
  `data_docs/local_site/validations/<suite>/<run name>/<run time>/<batch>.html`; a night is a run
  name (the Airflow run id). The N run names with the newest run times stay; the others' files go.
  The Data Docs index lists only the last two gate runs (great_expectations.yml), so it never
  points at a pruned page while N >= 2.
- Airflow: `<base_log_folder>/dag_id=<dag>/run_id=<run>/…` per run; the N most recent runs of each
  DAG stay (by modification time), and the run in progress is never removed. Dated directories of
  the scheduler and dag-processor logs (`<component>/<yyyy-mm-dd>/`) older than N days go too.

    python -m konvergensi.housekeeping [--keep N]   # both, as the nightly DAG's housekeeping task does
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from konvergensi import settings

log = logging.getLogger(__name__)

GX_RESULT_TREES = (("validations", ".json"), ("data_docs/local_site/validations", ".html"))
DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Pruned:
    what: str
    kept: int
    removed: int
    files: int

    def line(self) -> str:
        return f"{self.what}: kept {self.kept} night(s), removed {self.removed} ({self.files} file(s))"


def gx_uncommitted_dir() -> Path:
    return settings.EXPECTATIONS_DIR / "uncommitted"


def prune_gate_results(keep: int | None = None, root: Path | None = None) -> Pruned:
    """Remove the GX validation results and Data Docs pages of all but the last `keep` nights."""
    keep = settings.keep_nights() if keep is None else max(1, keep)
    root = gx_uncommitted_dir() if root is None else root
    runs: dict[str, str] = {}  # run name -> its newest run time
    found: list[tuple[Path, str]] = []
    for tree, suffix in GX_RESULT_TREES:
        base = root / tree
        if not base.is_dir():
            continue
        for path in base.rglob(f"*{suffix}"):
            parts = path.relative_to(base).parts
            if len(parts) < 4:  # <suite…>/<run name>/<run time>/<batch>
                continue
            run_name, run_time = parts[-3], parts[-2]
            runs[run_name] = max(runs.get(run_name, ""), run_time)
            found.append((path, run_name))
    kept = set(sorted(runs, key=lambda name: runs[name], reverse=True)[:keep])
    removed = [path for path, run_name in found if run_name not in kept]
    for path in removed:
        path.unlink()
    for tree, _ in GX_RESULT_TREES:
        _remove_empty_directories(root / tree)
    result = Pruned("GX results and Data Docs", len(kept), len(runs) - len(kept), len(removed))
    log.info(result.line())
    return result


def airflow_log_folder() -> Path:
    from airflow.configuration import conf

    return Path(conf.get("logging", "base_log_folder"))


def prune_airflow_logs(keep: int | None = None, base: Path | None = None, current_run: str | None = None,
                       today: dt.date | None = None) -> Pruned:
    """Remove the task logs of all but each DAG's last `keep` runs, and component logs older than `keep` days."""
    keep = settings.keep_nights() if keep is None else max(1, keep)
    base = airflow_log_folder() if base is None else base
    kept = removed = files = 0
    if base.is_dir():
        for dag_dir in sorted(base.glob("dag_id=*")):
            runs = sorted((p for p in dag_dir.glob("run_id=*") if p.is_dir()), key=_newest_mtime, reverse=True)
            for number, run_dir in enumerate(runs):
                if number < keep or run_dir.name == f"run_id={current_run}":
                    kept += 1
                    continue
                files += sum(1 for p in run_dir.rglob("*") if p.is_file())
                shutil.rmtree(run_dir)
                removed += 1
        oldest = (today or dt.date.today()) - dt.timedelta(days=keep)
        for component in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("dag_id=")):
            for dated in sorted(p for p in component.iterdir() if p.is_dir() and DATED.match(p.name)):
                if dt.date.fromisoformat(dated.name) < oldest:
                    files += sum(1 for p in dated.rglob("*") if p.is_file())
                    shutil.rmtree(dated)
    result = Pruned("Airflow task logs", kept, removed, files)
    log.info(result.line())
    return result


def _newest_mtime(directory: Path) -> float:
    return max([directory.stat().st_mtime, *(p.stat().st_mtime for p in directory.rglob("*"))])


def _remove_empty_directories(base: Path) -> None:
    if not base.is_dir():
        return
    for directory in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=int, default=None, help="nights to keep (default KONVERGENSI_KEEP_NIGHTS or 30)")
    args = parser.parse_args(argv)
    for result in (prune_gate_results(args.keep), prune_airflow_logs(args.keep)):
        print(result.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
