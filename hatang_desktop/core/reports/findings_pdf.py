"""The findings report as a PDF that looks like an official document (reportlab, DejaVu Sans).

Layout: A4 portrait. The issuing body and the national motto side by side, place and date, the
title and scope; I. a summary per rule with its legal reference and counts by status; II. the
findings still being worked on, per commune and operator, one row each with its record,
position, note and a thumbnail of its first photo; a signature block. Every page carries
"Trang x/y" (a second pass over the pages knows y).
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (Image, KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer,
                                Table, TableStyle)

from ...paths import resources_dir
from .findings import (ReportData, STATUS_VI, SEVERITY_VI, TARGET_VI, _place, _position, _rule_reference,
                       _rule_title, grouped, summary_rows, vn_date)

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
MARGIN = 1.5 * cm
ROWS_PER_TABLE = 150  # long lists split into several tables: reportlab lays out each in one go
FOOTER = "Hạ tầng Desktop · Báo cáo kết quả kiểm tra"


def _fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = resources_dir() / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=11.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.2),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.8, leading=9.6),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=7.8, leading=9.6,
                               alignment=TA_CENTER),
        "centre": ParagraphStyle("centre", parent=base, alignment=TA_CENTER),
        "centre_bold": ParagraphStyle("centre_bold", parent=base, fontName=BOLD, alignment=TA_CENTER),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=15, leading=19,
                                alignment=TA_CENTER, spaceBefore=14),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontName=BOLD, fontSize=11, leading=14,
                                   alignment=TA_CENTER, spaceAfter=6),
        "h1": ParagraphStyle("h1", parent=base, fontName=BOLD, fontSize=11, leading=14, spaceBefore=10,
                             spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=10, leading=13, spaceBefore=8,
                             spaceAfter=3, textColor=colors.HexColor("#1f3b63")),
        "h3": ParagraphStyle("h3", parent=base, fontName=BOLD, fontSize=9, leading=12, spaceBefore=5,
                             spaceAfter=3),
    }


def _numbered_canvas(footer_left: str):
    class NumberedCanvas(rl_canvas.Canvas):
        """Holds each page until the end, then draws "Trang x/y" on all of them."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(FONT, 7.5)
                self.setFillColor(colors.HexColor("#555555"))
                width = self._pagesize[0]
                self.drawString(MARGIN, 0.9 * cm, footer_left)
                self.drawRightString(width - MARGIN, 0.9 * cm, f"Trang {self._pageNumber}/{total}")
                self.setStrokeColor(colors.HexColor("#999999"))
                self.setLineWidth(0.4)
                self.line(MARGIN, 1.25 * cm, width - MARGIN, 1.25 * cm)
                super().showPage()
            super().save()

    return NumberedCanvas


def _p(text, style) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def _grid(header_rows: int = 1) -> list:
    return [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a8a8a")),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#dde7f3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]


def _heading_block(data: ReportData, st: dict) -> list:
    province = data.province
    body = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    left = [_p(f"UBND {province.upper()}", st["centre"]), _p(body, st["centre_bold"]),
            _p("———", st["centre"])]
    right = [_p("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", st["centre_bold"]),
             _p("Độc lập - Tự do - Hạnh phúc", st["centre_bold"]), _p("———————", st["centre"])]
    head = Table([[left, right]], colWidths=[7.2 * cm, 10.8 * cm])
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    active = data.active
    lines = [
        head, Spacer(1, 4),
        _p(f"{_place(province)}, {vn_date(data.today)}", st["right"]),
        _p("BÁO CÁO", st["title"]),
        _p("Kết quả kiểm tra hạ tầng viễn thông thụ động dùng chung", st["subtitle"]),
        _p(f"Phạm vi: {data.scope}", st["centre"]),
        _p(f"Số vi phạm, tồn tại đang xử lý: {len(active)} "
           f"(vi phạm {int((active['severity'] == 'violation').sum())}, "
           f"cảnh báo {int((active['severity'] == 'warning').sum())}, "
           f"thông tin {int((active['severity'] == 'info').sum())}); "
           f"tổng số đã ghi nhận: {len(data.findings)}", st["centre"]),
        Spacer(1, 8),
    ]
    return lines


def _summary(data: ReportData, st: dict) -> list:
    rows = [[_p(h, st["head"]) for h in ("TT", "Nội dung kiểm tra", "Căn cứ pháp lý", "Mức độ",
                                         *STATUS_VI.values())]]
    for i, r in enumerate(summary_rows(data), start=1):
        rows.append([_p(i, st["cell"]), _p(r["title"], st["cell"]), _p(r["reference"], st["cell"]),
                     _p(r["severity"], st["cell"])] + [_p(r[s], st["cell"]) for s in STATUS_VI])
    table = LongTable(rows, colWidths=[0.8 * cm, 6.2 * cm, 4.6 * cm, 1.6 * cm] + [1.2 * cm] * 4,
                      repeatRows=1)
    table.setStyle(TableStyle(_grid() + [("ALIGN", (4, 1), (-1, -1), "RIGHT")]))
    return [_p("I. TỔNG HỢP THEO NỘI DUNG KIỂM TRA", st["h1"]), table]


DETAIL_WIDTHS = [0.9 * cm, 3.6 * cm, 3.1 * cm, 2.4 * cm, 5.6 * cm, 2.4 * cm]


def _dmy(day) -> str:
    text = str(day)[:10]
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}" if len(text) == 10 and text[4] == "-" else text


def _detail_rows(data: ReportData, rows, st: dict, start: int) -> list:
    out = []
    for i, f in enumerate(rows.itertuples(index=False), start=start):
        rule = _p(f"{_rule_title(data, f.rule_id)}\n[{_rule_reference(data, f.rule_id)}]", st["small"])
        record = _p(f"{TARGET_VI.get(f.target_table, f.target_table)}: {f.record or '—'}\n"
                    f"{SEVERITY_VI.get(f.severity, f.severity)} · {STATUS_VI.get(f.status, f.status)}",
                    st["cell"])
        note = f.note if isinstance(f.note, str) else ""
        found = f"Phát hiện ngày {_dmy(f.found_on)}" + (f" · {f.inspector}" if isinstance(f.inspector, str) else "")
        thumb = data.photos.get(f.uuid)
        photo = Image(io.BytesIO(thumb), width=2.1 * cm, height=2.1 * cm, kind="proportional") if thumb else _p("—", st["cell"])
        out.append([_p(i, st["cell"]), rule, record, _p(_position(f.lat, f.lon), st["small"]),
                    _p(f"{note}\n{found}", st["cell"]), photo])
    return out


def _details(data: ReportData, st: dict) -> list:
    story = [_p("II. CHI TIẾT THEO XÃ/PHƯỜNG VÀ DOANH NGHIỆP", st["h1"])]
    if data.active.empty:
        return story + [_p("Không có vi phạm nào đang xử lý trong phạm vi báo cáo.", st["base"])]
    header = [_p(h, st["head"]) for h in ("TT", "Nội dung, căn cứ", "Đối tượng", "Vị trí (vĩ độ, kinh độ)",
                                          "Ghi nhận", "Ảnh")]
    n = 0
    for ci, (commune, ops) in enumerate(grouped(data.active), start=1):
        total = sum(len(rows) for _, rows in ops)
        story.append(_p(f"{ci}. {commune}: {total} vi phạm, tồn tại", st["h2"]))
        for oi, (operator, rows) in enumerate(ops, start=1):
            title = _p(f"{ci}.{oi}. {operator}: {len(rows)}", st["h3"])
            for k in range(0, len(rows), ROWS_PER_TABLE):
                chunk = rows.iloc[k:k + ROWS_PER_TABLE]
                table = LongTable([header] + _detail_rows(data, chunk, st, n + 1), colWidths=DETAIL_WIDTHS,
                                  repeatRows=1)
                table.setStyle(TableStyle(_grid()))
                n += len(chunk)
                story.append(KeepTogether([title, table]) if k == 0 and len(chunk) <= 3 else table)
                if k == 0 and len(chunk) > 3:
                    story.insert(len(story) - 1, title)
    return story


def _signatures(st: dict) -> list:
    left = [_p("Nơi nhận:", st["small"]), _p("- Các doanh nghiệp viễn thông có tên trên;", st["small"]),
            _p("- UBND các xã, phường liên quan;", st["small"]), _p("- Lưu: VT.", st["small"])]
    right = [_p("NGƯỜI LẬP BÁO CÁO", st["centre_bold"]), _p("(Ký, ghi rõ họ tên)", st["centre"])]
    t = Table([[left, right]], colWidths=[9 * cm, 9 * cm])
    t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Spacer(1, 14), KeepTogether([t, Spacer(1, 50)])]


def write_pdf(data: ReportData, path: Path) -> int:
    """Write the report; returns the number of pages."""
    _fonts()
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=1.8 * cm,
                            title="Báo cáo kết quả kiểm tra hạ tầng viễn thông thụ động",
                            author="Hạ tầng Desktop", subject=data.scope)
    story = _heading_block(data, st) + _summary(data, st) + _details(data, st) + _signatures(st)
    pages = {"n": 0}

    def count(canvas, _doc):
        pages["n"] = canvas.getPageNumber()

    doc.build(story, onFirstPage=count, onLaterPages=count,
              canvasmaker=_numbered_canvas(f"{FOOTER} · {data.scope}"))
    return pages["n"]
