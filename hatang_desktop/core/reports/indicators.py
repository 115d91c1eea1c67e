"""`hatang report indicators DB OUT.xlsx`: the department's plan-indicator report.

Sheets: a summary (each indicator: target, actual, gap, status, the plan document), the
communes side by side, operators (sites by technology, fibre by method), one sheet per commune,
the department's entered figures, and the definitions used. Vietnamese, with openpyxl charts;
every sheet is set up to print (A4 landscape, fit to width, header rows repeated on each page).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..indicators.catalogue import BY_KEY, FIGURE_KEYS, METHOD_LABELS, METHODS, TECHNOLOGIES, UNIT_LABELS
from ..indicators.compute import commune_population
from ..indicators.coverage_model import load_coverage_model
from ..indicators.data import read_dataset
from ..indicators.plans import load_plans
from ..indicators.evaluate import (COMMUNE_COLUMNS, MET, NOT_MET, STATUS_LABELS, Evaluator, IndicatorReport,
                                   report_from_dataset)

# Above this many communes (a national database) the per-commune sheets are left out: the
# "Theo xã, phường" sheet still lists every commune on one row.
MAX_COMMUNE_SHEETS = 200

TITLE = Font(bold=True, size=14)
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
STATUS_FILL = {MET: PatternFill("solid", fgColor="C6EFCE"), NOT_MET: PatternFill("solid", fgColor="FFC7CE")}
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(wrap_text=True, vertical="center", horizontal="center")

SUMMARY_HEADERS = ("STT", "Chỉ số", "Đơn vị", "Chỉ tiêu", "Thực tế", "Còn thiếu", "Trạng thái", "Tử số",
                   "Mẫu số", "Hiện trạng (mốc)", "Kế hoạch", "Phạm vi", "Trích văn bản")
SUMMARY_WIDTHS = (5, 42, 11, 10, 10, 10, 14, 10, 10, 16, 34, 22, 60)


def _style(cell, *, font=None, fill=None, border=None, alignment=None, number_format=None) -> None:
    """Style a cell through a cache of style arrays: openpyxl hashes a Border or Font on every
    assignment, which made a province report (70 sheets) spend most of its time hashing."""
    # Kept on the workbook: a style array indexes that workbook's own style tables.
    cache = cell.parent.parent.__dict__.setdefault("_hatang_style_cache", {})
    key = (id(font), id(fill), id(border), id(alignment), number_format)
    cached = cache.get(key)
    if cached is not None:
        cell._style = copy(cached)
        return
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if border is not None:
        cell.border = border
    if alignment is not None:
        cell.alignment = alignment
    if number_format is not None:
        cell.number_format = number_format
    cache[key] = copy(cell._style)


def _unit(unit: str) -> str:
    return UNIT_LABELS[unit][0]


def _round(v: float | None, unit: str) -> float | None:
    if v is None:
        return None
    return round(v) if unit == "count" else round(v, 2)


def _sheet_name(text: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", text)[:31].strip()
    base, i = name, 2
    while name in used:
        suffix = f" ({i})"
        name = base[:31 - len(suffix)] + suffix
        i += 1
    used.add(name)
    return name


def _print_setup(ws: Worksheet, header_row: int, last_col: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "Trang &P / &N"
    ws.oddHeader.right.text = "&A"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_area = f"A1:{get_column_letter(last_col)}{max(ws.max_row, header_row)}"


def _header(ws: Worksheet, row: int, headers, widths=None) -> None:
    for col, text in enumerate(headers, start=1):
        _style(ws.cell(row=row, column=col, value=text), font=BOLD, fill=HEADER_FILL, border=BOX, alignment=CENTRE)
        if widths:
            ws.column_dimensions[get_column_letter(col)].width = widths[col - 1]


def _title(ws: Worksheet, title: str, subtitle: str) -> None:
    ws.cell(row=1, column=1, value=title).font = TITLE
    ws.cell(row=2, column=1, value=subtitle)


def _where(report: IndicatorReport) -> str:
    if report.commune_code:
        return f"{report.commune_name} ({report.commune_code}), {report.province_name}"
    return report.province_name or report.province_code


def _summary_rows(ws: Worksheet, report: IndicatorReport, start: int) -> int:
    """Write the report's rows from `start`; returns the last row written."""
    row = start
    for i, r in enumerate(report.rows, start=1):
        baseline = (f"{r.baseline:g} ({r.baseline_as_of})" if r.baseline is not None and r.baseline_as_of
                    else (f"{r.baseline:g}" if r.baseline is not None else None))
        values = (i, r.label_vi, _unit(r.unit), _round(r.target, r.unit), _round(r.actual, r.unit),
                  _round(r.gap, r.unit), STATUS_LABELS[r.status][0], _round(r.numerator, r.unit),
                  _round(r.denominator, r.unit), baseline, r.document, r.scope, r.wording)
        fmt = "#,##0" if r.unit == "count" else "#,##0.0"
        for col, v in enumerate(values, start=1):
            _style(ws.cell(row=row, column=col, value=v), border=BOX, alignment=WRAP,
                   number_format=fmt if col in (4, 5, 6, 8, 9) else None)
        if r.status in STATUS_FILL:
            ws.cell(row=row, column=7).fill = STATUS_FILL[r.status]
        row += 1
    return row - 1


def _source_name(database: str) -> str:
    """A file by its name; a server database by its address (which never holds a password)."""
    from ..storage.targets import is_server_url, parse_server_url

    return parse_server_url(database).display if is_server_url(database) else Path(database).name


def _summary_sheet(ws: Worksheet, report: IndicatorReport, generated: str) -> dict:
    ws.title = "Tổng hợp"
    _title(ws, f"BÁO CÁO CHỈ TIÊU HẠ TẦNG SỐ NĂM {report.year}",
           f"{_where(report)} — lập ngày {generated} — nguồn: {_source_name(report.database)}")
    ws.cell(row=3, column=1, value="Còn thiếu = chỉ tiêu − thực tế (âm: vượt chỉ tiêu). Định nghĩa các chỉ số: "
                                   "trang \"Định nghĩa\".")
    _header(ws, 4, SUMMARY_HEADERS, SUMMARY_WIDTHS)
    last = _summary_rows(ws, report, 5)
    # Charts: targets against actuals, one chart per unit (rates, site counts, ...).
    row0 = last + 3
    for unit in dict.fromkeys(r.unit for r in report.rows if r.target is not None):
        rows = [r for r in report.rows if r.unit == unit and r.target is not None]
        title = f"Chỉ tiêu và thực tế ({_unit(unit)})"
        ws.cell(row=row0, column=2, value=title).font = BOLD
        ws.cell(row=row0, column=3, value="Chỉ tiêu")
        ws.cell(row=row0, column=4, value="Thực tế")
        for j, r in enumerate(rows, start=1):
            ws.cell(row=row0 + j, column=2, value=f"{r.label_vi} ({r.plan})")
            ws.cell(row=row0 + j, column=3, value=_round(r.target, r.unit))
            ws.cell(row=row0 + j, column=4, value=_round(r.actual, r.unit))
        chart = BarChart()
        chart.type = "bar"
        chart.title = title
        if unit == "%":
            chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.add_data(Reference(ws, min_col=3, max_col=4, min_row=row0, max_row=row0 + len(rows)),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=row0 + 1, max_row=row0 + len(rows)))
        chart.height, chart.width = max(6.0, 1.2 * len(rows) + 3), 22
        ws.add_chart(chart, f"F{row0}")
        row0 += max(len(rows) + 2, int(chart.height * 2) + 2)
    _print_setup(ws, 4, len(SUMMARY_HEADERS))  # after the charts' rows, so the print area holds them
    return {"met": sum(r.status == MET for r in report.rows), "not_met": sum(r.status == NOT_MET for r in report.rows)}


def _communes_sheet(ws: Worksheet, report: IndicatorReport) -> None:
    _title(ws, f"CHỈ SỐ THEO XÃ, PHƯỜNG NĂM {report.year}", _where(report))
    headers = ("Mã", "Xã, phường") + tuple(f"{BY_KEY[k].label_vi} ({_unit(BY_KEY[k].unit)})" for k in COMMUNE_COLUMNS)
    _header(ws, 3, headers, (8, 26) + (14,) * len(COMMUNE_COLUMNS))
    ws.row_dimensions[3].height = 75
    for i, c in enumerate(report.communes, start=4):
        _style(ws.cell(row=i, column=1, value=c["code"]), border=BOX)
        _style(ws.cell(row=i, column=2, value=c["name"]), border=BOX)
        for j, key in enumerate(COMMUNE_COLUMNS, start=3):
            _style(ws.cell(row=i, column=j, value=_round(c[key], BY_KEY[key].unit)), border=BOX,
                   number_format="#,##0" if BY_KEY[key].unit == "count" else "#,##0.0")
    last = 3 + len(report.communes)
    _print_setup(ws, 3, len(headers))
    if report.communes:
        col = 3 + COMMUNE_COLUMNS.index("village_mobile_broadband_rate")
        chart = BarChart()
        chart.title = "Tỷ lệ thôn được phủ sóng băng rộng di động theo xã (%)"
        chart.add_data(Reference(ws, min_col=col, min_row=3, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=2, min_row=4, max_row=last))
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
        chart.height, chart.width, chart.legend = 9, max(18, min(60, 0.5 * len(report.communes))), None
        ws.add_chart(chart, f"B{last + 3}")


def _operators_sheet(ws: Worksheet, report: IndicatorReport, names: dict[str, str]) -> None:
    _title(ws, "TRẠM BTS VÀ CÁP QUANG THEO DOANH NGHIỆP", _where(report))
    _header(ws, 3, ("Doanh nghiệp",) + tuple(f"Trạm có {t}" for t in TECHNOLOGIES), (26, 12, 12, 12, 12))
    row = 4
    for op, techs in report.sites_by_operator_technology.items():
        ws.cell(row=row, column=1, value=names.get(op, op)).border = BOX
        for j, t in enumerate(TECHNOLOGIES, start=2):
            ws.cell(row=row, column=j, value=techs[t]).border = BOX
        row += 1
    sites_last = row - 1
    if sites_last >= 4:
        chart = BarChart()
        chart.title = "Số trạm theo doanh nghiệp và công nghệ"
        chart.add_data(Reference(ws, min_col=2, max_col=5, min_row=3, max_row=sites_last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=sites_last))
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, "H3")
    row += 1
    fibre_head = row
    headers = ("Doanh nghiệp",) + tuple(f"Cáp {METHOD_LABELS[m][0]} (km)" for m in METHODS) + ("Tổng (km)", "Ngầm (%)")
    _header(ws, fibre_head, headers)
    ws.column_dimensions["F"].width = ws.column_dimensions["G"].width = 12
    row += 1
    for op, methods in report.fibre_km_by_operator_method.items():
        total = sum(methods.values())
        vals = (names.get(op, op),) + tuple(round(methods[m], 2) for m in METHODS) + (
            round(total, 2), round(100.0 * (methods["duct"] + methods["buried"]) / total, 1) if total else None)
        for j, v in enumerate(vals, start=1):
            ws.cell(row=row, column=j, value=v).border = BOX
        row += 1
    if row - 1 > fibre_head:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
        chart.title = "Chiều dài cáp quang theo doanh nghiệp và phương thức (km)"
        chart.add_data(Reference(ws, min_col=2, max_col=4, min_row=fibre_head, max_row=row - 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=fibre_head + 1, max_row=row - 1))
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, f"H{fibre_head + 1}")
    _print_setup(ws, 3, 7)


def _commune_sheet(ws: Worksheet, report: IndicatorReport) -> None:
    _title(ws, f"{report.commune_name} ({report.commune_code}) — chỉ tiêu năm {report.year}", report.province_name)
    _header(ws, 3, SUMMARY_HEADERS, SUMMARY_WIDTHS)
    _summary_rows(ws, report, 4)
    _print_setup(ws, 3, len(SUMMARY_HEADERS))


def _figures_sheet(ws: Worksheet, report: IndicatorReport, population) -> None:
    _title(ws, f"SỐ LIỆU SỞ NHẬP NĂM {report.year} (không khảo sát trên bản đồ)",
           "Nhập: thẻ Số liệu do Sở nhập trong bảng Chỉ tiêu hạ tầng số; hoặc mẫu Excel (hatang indicators "
           "DB --figures-template MAU.xlsx, điền rồi --import-figures MAU.xlsx); hoặc --commune MÃ "
           "--set-figure CHỈ_SỐ=GIÁ_TRỊ")
    headers = ("Mã", "Xã, phường", "Dân số") + tuple(f"{BY_KEY[k].label_vi} ({_unit(BY_KEY[k].unit)})"
                                                      for k in FIGURE_KEYS)
    _header(ws, 3, headers, (8, 26, 12) + (18,) * len(FIGURE_KEYS))
    ws.row_dimensions[3].height = 45
    for i, c in enumerate(report.communes, start=4):
        pop = population.get(c["code"])
        vals = (c["code"], c["name"], None if pop is None else int(pop)) + tuple(c[k] for k in FIGURE_KEYS)
        for j, v in enumerate(vals, start=1):
            _style(ws.cell(row=i, column=j, value=v), border=BOX)
    _print_setup(ws, 3, len(headers))


def _definitions_sheet(ws: Worksheet, report: IndicatorReport) -> None:
    _title(ws, "ĐỊNH NGHĨA VÀ NGUỒN", "Các chỉ số được tính từ dữ liệu khảo sát theo các định nghĩa dưới đây.")
    _header(ws, 3, ("Chỉ số", "Định nghĩa", "Definition (English)"), (40, 80, 70))
    row = 4
    for key, text in report.definitions.items():
        base, _, plan = key.partition(" [")
        label = BY_KEY[base].label_vi if base in BY_KEY else "Mô hình phủ sóng"
        for j, v in enumerate((label + (f" [{plan}" if plan else ""), text["vi"], text["en"]), start=1):
            _style(ws.cell(row=row, column=j, value=v), alignment=WRAP, border=BOX)
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Kế hoạch áp dụng").font = BOLD
    row += 1
    for p in report.plans:
        scope = p["scope"] + (f" — {len(p['communes'])} xã, phường 2025" if p["communes"] else "")
        for j, v in enumerate((p["document"], f"{p['title']}. Phạm vi: {scope}.",
                               f"Nguồn: {p['source']} (resources/plans/{p['file']})"), start=1):
            _style(ws.cell(row=row, column=j, value=v), alignment=WRAP, border=BOX)
        row += 1
    _print_setup(ws, 3, 3)


def write(db_path, out_path, *, commune: str | None = None, year: int | None = None) -> dict:
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".xlsx":
        raise InvalidInputError(f"{out_path}: báo cáo chỉ tiêu chỉ xuất .xlsx / the indicators report is .xlsx only")
    if not out_path.parent.is_dir():
        raise InvalidInputError(f"{out_path}: thư mục không tồn tại / the folder does not exist")
    ds = read_dataset(db_path)  # a file or a server database
    ev = Evaluator(ds, load_coverage_model())
    plans = load_plans()  # once: every commune's sheet evaluates the same plans
    report = report_from_dataset(ds, str(db_path), commune=commune, year=year, evaluator=ev, plans=plans)
    wb = Workbook()
    generated = dt.date.today().strftime("%d/%m/%Y")
    counts = _summary_sheet(wb.active, report, generated)
    used = {"Tổng hợp"}
    if commune is None:
        whole = report_from_dataset(ds, str(db_path), year=report.year, evaluator=ev, plans=plans)
        report.communes = whole.communes
        _communes_sheet(wb.create_sheet(_sheet_name("Theo xã, phường", used)), report)
    _operators_sheet(wb.create_sheet(_sheet_name("Doanh nghiệp", used)), report, ds.operator_names)
    codes = [commune] if commune is not None else [c["code"] for c in report.communes]
    commune_sheets = 0
    if commune is None and len(codes) <= MAX_COMMUNE_SHEETS:
        for code in codes:
            one = report_from_dataset(ds, str(db_path), commune=code, year=report.year, evaluator=ev,
                                      plans=plans)
            _commune_sheet(wb.create_sheet(_sheet_name(f"{code} {one.commune_name}", used)), one)
            commune_sheets += 1
    if commune is None:
        pop = commune_population(report.results)
        population = {str(c): float(p) for c, p in zip(ds.communes.code, pop) if p == p}
        _figures_sheet(wb.create_sheet(_sheet_name("Số liệu Sở nhập", used)), report, population)
    _definitions_sheet(wb.create_sheet(_sheet_name("Định nghĩa", used)), report)
    wb.properties.title = f"Báo cáo chỉ tiêu hạ tầng số năm {report.year} — {_where(report)}"
    wb.properties.creator = "Hạ tầng Desktop"
    with atomic_output(out_path) as tmp:
        buffer = io.BytesIO()
        wb.save(buffer)  # in memory first: openpyxl leaves its zip file open when a write fails, to fail again at exit
        tmp.write_bytes(buffer.getvalue())  # a report interrupted half-way never replaces a good one
    return {"report": "indicators", "out": str(out_path), "year": report.year, "province": report.province_code,
            "commune": commune, "indicators": len(report.rows), "sheets": wb.sheetnames[:8] + (
                [f"… {len(wb.sheetnames) - 8} more"] if len(wb.sheetnames) > 8 else []),
            "commune_sheets": commune_sheets, **counts}
