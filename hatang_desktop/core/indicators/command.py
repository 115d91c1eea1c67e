"""`hatang indicators DB [--commune CODE] [--year Y] [--set-figure K=V ...] [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InvalidInputError
from .evaluate import build_report, default_year, text_report
from .figures import parse_assignment, set_figures
from .plans import load_plans


def run(db_path: str | Path, *, commune: str | None = None, year: int | None = None,
        set_figure: list[str] | None = None, as_json: bool = False) -> str:
    """The command's stdout. Figures, when given, are written first (one operation), then reported."""
    if set_figure:
        from ..storage.database import Database

        values = dict(parse_assignment(a) for a in set_figure)  # all checked before anything is written
        with Database.open(db_path) as db:
            with db.session() as s:
                from sqlalchemy import text
                province = s.execute(text("SELECT value FROM meta WHERE key = 'province_code'")).scalar()
            unit = commune or province
            if not unit or unit == "VN":
                raise InvalidInputError(f"{db_path}: --set-figure cần --commune MÃ cho cơ sở dữ liệu toàn quốc / "
                                        "needs --commune CODE for a national database")
            if year is None:
                year = default_year([p for p in load_plans() if p.province == province])
            set_figures(db, unit, year, values)
    report = build_report(db_path, commune=commune, year=year)
    if as_json:
        return json.dumps(report.to_json(), ensure_ascii=False, default=str)
    return text_report(report)
