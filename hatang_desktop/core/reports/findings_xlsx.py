"""The findings report as a workbook (`hatang report findings DB OUT.xlsx`): the summary per rule,
the summary per commune and rule, and every finding still being worked on in the scope, one row
each (a spreadsheet is filtered, not paged: the listing is always there, whatever --details says).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import pandas as pd

from .. import schema
from .findings import (STATUS_VI, SEVERITY_VI, TARGET_VI, ReportData, _place, _rule_reference, _rule_title,
                       commune_matrix, grouped, summary_rows, vn_date)


def write_xlsx(data: ReportData, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    bold, title_font = Font(bold=True), Font(bold=True, size=14)
    fill = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")

    def text(value):
        # A note typed as "=..." must stay text: never a formula in the department's Excel.
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
            return "'" + value
        return value

    def table(ws, start: int, headers, widths, rows) -> None:
        for col, (h, w) in enumerate(zip(headers, widths), start=1):
            c = ws.cell(row=start, column=col, value=h)
            c.font, c.fill, c.border, c.alignment = bold, fill, box, wrap
            ws.column_dimensions[get_column_letter(col)].width = w
        for r, values in enumerate(rows, start=start + 1):
            for col, v in enumerate(values, start=1):
                c = ws.cell(row=r, column=col, value=text(v))
                c.border, c.alignment = box, wrap
        ws.freeze_panes = ws.cell(row=start + 1, column=1)
        ws.auto_filter.ref = f"A{start}:{get_column_letter(len(headers))}{start + max(1, len(rows))}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = f"{start}:{start}"

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    ws["A1"] = "BÁO CÁO KẾT QUẢ KIỂM TRA HẠ TẦNG VIỄN THÔNG THỤ ĐỘNG"
    ws["A1"].font = title_font
    ws["A2"] = f"Phạm vi: {data.scope}"
    ws["A3"] = f"{_place(data.province)}, {vn_date(data.today)}"
    ws["A4"] = (f"Vi phạm đang xử lý: {len(data.active)}; tổng số đã ghi nhận: {len(data.findings)}")
    headers = (schema.field_label("findings", "rule_id"), "Nội dung", "Căn cứ pháp lý",
               schema.field_label("findings", "severity"), *STATUS_VI.values())
    summary = summary_rows(data)
    rows = [(r["rule_id"], r["title"], r["reference"], r["severity"], *(r[s] for s in STATUS_VI))
            for r in summary]
    table(ws, 6, headers, (30, 50, 40, 11, 12, 12, 12, 10), rows)

    ws = wb.create_sheet("Theo xã phường")
    matrix = commune_matrix(data, summary)
    ws["A1"] = "SỐ VI PHẠM, TỒN TẠI ĐANG XỬ LÝ THEO XÃ/PHƯỜNG VÀ NỘI DUNG KIỂM TRA"
    ws["A1"].font = title_font
    ws["A2"] = f"Phạm vi: {data.scope}"
    ws["A3"] = "Cột (n): nội dung kiểm tra số n của trang Tổng hợp; " + "; ".join(
        f"({n}) {rule_id}" for n, rule_id in matrix.columns)
    rows = [(label, *counts, total) for label, _code, counts, total in matrix.rows]
    rows.append(("Cộng", *matrix.totals, matrix.total))
    table(ws, 5, ("Xã/phường", *(f"({n})" for n, _ in matrix.columns), "Cộng"),
          (34, *(8 for _ in matrix.columns), 9), rows)

    ws = wb.create_sheet("Vi phạm")
    label = functools.partial(schema.field_label, "findings")  # the finding form's own words
    headers = ("STT", "Xã/phường", "Doanh nghiệp", label("rule_id"), "Nội dung quy tắc",
               "Căn cứ pháp lý", label("severity"), label("status"), label("target_table"), "Đối tượng",
               label("lat"), label("lon"), label("found_on"), "Ghi chú", label("inspector"), "UUID vi phạm",
               label("target_uuid"))
    rows = []
    n = 0
    for commune, ops in grouped(data.active):
        for op, part in ops:
            for f in part:
                n += 1
                rows.append((n, commune, op, f.rule_id, _rule_title(data, f.rule_id),
                             _rule_reference(data, f.rule_id), SEVERITY_VI.get(f.severity, f.severity),
                             STATUS_VI.get(f.status, f.status), TARGET_VI.get(f.target_table, f.target_table),
                             f.record, None if pd.isna(f.lat) else float(f.lat),
                             None if pd.isna(f.lon) else float(f.lon), str(f.found_on), f.note,
                             f.inspector if isinstance(f.inspector, str) else None, f.uuid, f.target_uuid))
    ws["A1"] = "DANH SÁCH VI PHẠM ĐANG XỬ LÝ (theo xã/phường và doanh nghiệp)"
    ws["A1"].font = title_font
    ws["A2"] = f"Phạm vi: {data.scope}"
    table(ws, 4, headers, (6, 26, 22, 26, 40, 30, 10, 14, 14, 22, 11, 11, 13, 50, 18, 38, 38), rows)
    buffer = io.BytesIO()
    wb.save(buffer)  # in memory first: openpyxl leaves its zip file open when a write fails, to fail again at exit
    Path(path).write_bytes(buffer.getvalue())
