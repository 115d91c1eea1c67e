"""Printable reports for the department and the operators (`hatang report KIND DB OUT`).

Each kind lives in its own module with one entry point
`write(db_path, out_path, *, commune=None, year=None) -> dict` returning a summary for `--json`
(at least {"report": kind, "out": str(out_path)}); modules are imported on demand so a report's
heavy dependencies cost nothing to the other verbs.
"""

from __future__ import annotations

import importlib
from pathlib import Path

KINDS = {
    "findings": "hatang_desktop.core.reports.findings",
    "indicators": "hatang_desktop.core.reports.indicators",
    "map": "hatang_desktop.core.reports.map_sheet",
}


def write_report(kind: str, db_path: str | Path, out_path: str | Path, *, commune: str | None = None,
                 year: int | None = None, **options) -> dict:
    """`options` go to the kinds that take more (the map sheet's paper, grid and basemap; the findings
    report's operator, severity and details)."""
    module = importlib.import_module(KINDS[kind])
    # DB stays as given: a server URL is not a path (Path() would fold its "//").
    return module.write(db_path, Path(out_path), commune=commune, year=year, **options)
