"""`hatang indicators DB [--commune CODE] [--year Y] [--set-figure K=V ...] [--import-figures IN.xlsx]
[--figures-template OUT.xlsx] [--json]`."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import InvalidInputError
from ..core.indicators.evaluate import build_report, default_year, text_report
from ..core.indicators.figures import (InvalidFiguresError, import_figures, parse_assignment, set_figures,
                                      write_template)
from ..core.indicators.plans import load_plans
from .common import EXIT_OK, refuse


def run(args) -> int:
    try:
        out = report_text(args.db, commune=args.commune, year=args.year, set_figure=args.set_figure,
                          import_figures_from=args.import_figures, figures_template=args.figures_template,
                          as_json=args.json)
    except InvalidFiguresError as exc:
        return refuse(exc, args.json, counts=False)
    print(out)
    return EXIT_OK


def report_text(db_path: str | Path, *, commune: str | None = None, year: int | None = None,
                set_figure: list[str] | None = None, import_figures_from: str | Path | None = None,
                figures_template: str | Path | None = None, as_json: bool = False) -> str:
    """The command's stdout. Figures, when given, are written first (one operation), then reported.
    `figures_template` only writes the empty template and reports what it wrote."""
    from ..core.storage.targets import open_database

    if figures_template is not None:
        with open_database(db_path, readonly=True) as db:
            done = write_template(db, figures_template, year=year)
        if as_json:
            return json.dumps({"template": done}, ensure_ascii=False)
        return (f"Đã ghi mẫu số liệu / template written: {done['out']} "
                f"({done['units']} tỉnh, xã, phường / units; {len(done['figures'])} chỉ số / figures)")
    imported = None
    if import_figures_from is not None:
        with open_database(db_path) as db:
            # Every cell is checked first: on any problem InvalidFiguresError (exit 2), nothing written.
            imported = import_figures(db, import_figures_from, year=year)
        if year is None and len(imported["years"]) == 1:
            year = imported["years"][0]  # report the year just entered
    if set_figure:
        values = dict(parse_assignment(a) for a in set_figure)  # all checked before anything is written
        with open_database(db_path) as db:
            province = db.meta("province_code")
            unit = commune or province
            if not unit or unit == "VN":
                raise InvalidInputError(f"{db_path}: --set-figure cần --commune MÃ cho cơ sở dữ liệu toàn quốc / "
                                        "needs --commune CODE for a national database")
            if year is None:
                year = default_year([p for p in load_plans() if p.province == province])
            set_figures(db, unit, year, values)
    report = build_report(db_path, commune=commune, year=year)
    if as_json:
        doc = report.to_json()
        if imported is not None:
            doc["imported_figures"] = imported
        return json.dumps(doc, ensure_ascii=False, default=str)
    head = ""
    if imported is not None:
        head = (f"Đã nhập số liệu Sở / figures imported from {imported['workbook']}: {imported['figures']} số liệu, "
                f"{imported['units']} đơn vị, năm {', '.join(map(str, imported['years'])) or '-'}; "
                f"{imported['changed']} thay đổi / changed\n\n")
    return head + text_report(report)
