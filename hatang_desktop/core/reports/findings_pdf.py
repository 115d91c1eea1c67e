"""The findings report as a PDF that looks like an official document (reportlab, DejaVu Sans).

Layout: A4 portrait. The issuing body and the national motto side by side, place and date, the
title and scope; I. a summary per rule with its legal reference, the active findings by severity
and the closed ones; II. the active findings per commune and rule; III. when the report lists
them (ReportData.details), the findings still being worked on, per commune and operator, one row
each with its record, position, note and a thumbnail of its first photo; a signature block. Every
page carries "Trang x/y" (a second pass over the pages knows y).

The listing is what takes the time (7,100 findings of a province): its cells are plain strings
wrapped here with cached word widths, in tables of a fixed style, not a Paragraph per cell, which
reportlab parses, measures and re-wraps at every page split (≈ 8 ms a row).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (CondPageBreak, Image, KeepTogether, LongTable, Paragraph, SimpleDocTemplate, Spacer,
                                Table, TableStyle)

from ...paths import resources_dir
from ..rules.definitions import MANUAL_RULE
from .findings import (SEVERITY_ORDER, STATUS_VI, SEVERITY_VI, TARGET_VI, ReportData, _place, _position,
                       _rule_reference, _rule_title, commune_matrix, grouped, summary_rows, vn_date)

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
MARGIN = 1.5 * cm
CELL_SIZE, MATRIX_SIZE = 7.5, 7.2  # points: the listing's and the per-commune table's text
PAD = 3  # the cells' left and right padding (_grid)
ROWS_PER_TABLE = 150
HEADING_ROOM = 4.5 * cm  # a heading, the listing's header row and two rows  # long lists split into several tables: reportlab lays out each in one go
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


def _wrap_words(text: str, width: float, font: str, size: float) -> list[str]:
    space = _width(" ", font, size)
    lines = []
    for para in text.split("\n"):
        line, used = [], 0.0
        for word in para.split():
            w = _width(word, font, size)
            while w > width and len(word) > 1:  # a word wider than the column: cut it
                if line:
                    lines.append(" ".join(line))
                    line, used = [], 0.0
                cut = len(word) - 1
                while cut > 1 and _width(word[:cut], font, size) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
                w = _width(word, font, size)
            if line and used + space + w > width:
                lines.append(" ".join(line))
                line, used = [], 0.0
            used += (space if line else 0.0) + w
            line.append(word)
        lines.append(" ".join(line))
    return lines


@functools.lru_cache(maxsize=1 << 16)
def _width(word: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(word, font, size)


@functools.lru_cache(maxsize=1 << 12)
def wrap(text, width: float, font: str = FONT, size: float = CELL_SIZE) -> str:
    """`text` broken into lines that fit `width` points, as one string with newlines (what a
    Table cell draws line by line); rule titles and the like repeat, so whole cells are cached."""
    return "\n".join(_wrap_words("" if text is None else str(text), width - 2 * PAD, font, size))


def _cell_style(header_rows: int = 1, size: float = CELL_SIZE) -> list:
    return _grid(header_rows) + [
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), size),
        ("LEADING", (0, 0), (-1, -1), size * 1.23),
        ("FONTNAME", (0, 0), (-1, header_rows - 1), BOLD),
        ("ALIGN", (0, 0), (-1, header_rows - 1), "CENTER"),
    ]


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".") if n else "-"


SUMMARY_WIDTHS = [0.8 * cm, 5.6 * cm, 4.2 * cm] + [1.5 * cm] * 3 + [1.5 * cm, 1.4 * cm]


def _summary(data: ReportData, st: dict, summary: list[dict]) -> list:
    w = SUMMARY_WIDTHS
    head = [["TT", "Nội dung kiểm tra", "Căn cứ pháp lý", "Đang xử lý", "", "", wrap("Đã khắc phục", w[6]),
             "Bác bỏ"],
            ["", "", "", *(wrap(SEVERITY_VI[v], w[3]) for v in SEVERITY_ORDER), "", ""]]
    rows = [[str(r["number"]), wrap(r["title"], w[1]), wrap(r["reference"], w[2]),
             *(_count(r["by_severity"][v]) for v in SEVERITY_ORDER), _count(r["resolved"]),
             _count(r["dismissed"])] for r in summary]
    totals = ["", "Cộng", "", *(_count(sum(r["by_severity"][v] for r in summary)) for v in SEVERITY_ORDER),
              _count(sum(r["resolved"] for r in summary)), _count(sum(r["dismissed"] for r in summary))]
    table = LongTable(head + rows + [totals], colWidths=w, repeatRows=2)
    table.setStyle(TableStyle(_cell_style(2) + [
        ("SPAN", (3, 0), (5, 0)), *(("SPAN", (c, 0), (c, 1)) for c in (0, 1, 2, 6, 7)),
        ("VALIGN", (0, 0), (-1, 1), "MIDDLE"), ("ALIGN", (3, 2), (-1, -1), "RIGHT"),
        ("ALIGN", (0, 2), (0, -1), "CENTER"),
        ("FONTNAME", (0, -1), (-1, -1), BOLD), ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f2f2f2"))]))
    return [_p("I. TỔNG HỢP THEO NỘI DUNG KIỂM TRA", st["h1"]),
            _p("Số vi phạm, tồn tại đang xử lý (mới phát hiện hoặc đã xác nhận) theo mức độ; "
               "số đã khắc phục và số bị bác bỏ.", st["small"]), Spacer(1, 3), table]


MATRIX_COLUMNS = 16  # rule columns side by side on the portrait page; more go to a second table


def _communes(data: ReportData, st: dict, summary: list[dict]) -> list:
    story = [_p("II. TỔNG HỢP THEO XÃ/PHƯỜNG", st["h1"]),
             _p("Số vi phạm, tồn tại đang xử lý của mỗi xã/phường theo nội dung kiểm tra; cột (n) là nội "
                "dung số n của mục I.", st["small"]), Spacer(1, 3)]
    matrix = commune_matrix(data, summary)
    if not matrix.rows:
        return story + [_p("Không có vi phạm nào đang xử lý trong phạm vi báo cáo.", st["base"])]
    for k in range(0, len(matrix.columns), MATRIX_COLUMNS):
        cols = range(k, min(k + MATRIX_COLUMNS, len(matrix.columns)))
        last = cols.stop == len(matrix.columns)
        count_w = min(1.0 * cm, (11.5 * cm) / len(cols))
        name_w = 18 * cm - 0.8 * cm - count_w * len(cols) - (1.3 * cm if last else 0)
        widths = [0.8 * cm, name_w] + [count_w] * len(cols) + ([1.3 * cm] if last else [])
        head = ["TT", "Xã/phường", *(f"({matrix.columns[i][0]})" for i in cols)] + (["Cộng"] if last else [])
        rows = [[str(n), wrap(label, name_w, size=MATRIX_SIZE), *(_count(counts[i]) for i in cols)]
                + ([_count(total)] if last else [])
                for n, (label, _code, counts, total) in enumerate(matrix.rows, start=1)]
        rows.append(["", "Cộng", *(_count(matrix.totals[i]) for i in cols)] + ([_count(matrix.total)] if last else []))
        table = LongTable([head] + rows, colWidths=widths, repeatRows=1)
        table.setStyle(TableStyle(_cell_style(1, MATRIX_SIZE) + [
            ("ALIGN", (2, 1), (-1, -1), "RIGHT"), ("ALIGN", (0, 1), (0, -1), "CENTER"),
            ("FONTNAME", (0, -1), (-1, -1), BOLD),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f2f2f2"))]))
        story += [table, Spacer(1, 6)]
    return story


DETAIL_HEAD = ["TT", "Nội dung, căn cứ", "Đối tượng", "Vị trí\n(vĩ độ, kinh độ)", "Ghi nhận", "Ảnh"]
# With no photo in the listing its column goes, and the record and the note take the room.
DETAIL_WIDTHS = {True: [0.9 * cm, 4.1 * cm, 3.3 * cm, 2.5 * cm, 4.9 * cm, 2.3 * cm],
                 False: [0.9 * cm, 4.4 * cm, 4.0 * cm, 2.5 * cm, 6.2 * cm]}


class ListingTable(LongTable):
    """The listing's tables: a cell of several left-aligned lines is one text object (one
    position, then a line feed a line) instead of a text object with its own position for every
    line, which was a third of the listing's time."""

    def _drawCell(self, cellval, cellstyle, pos, size):
        if (not isinstance(cellval, str) or "\n" not in cellval or cellstyle.alignment != "LEFT"
                or cellstyle.valign != "TOP" or cellstyle.href or cellstyle.destination):
            return super()._drawCell(cellval, cellstyle, pos, size)
        if self._curcellstyle is not cellstyle:
            self.canv.setFillColor(cellstyle.color)
            self.canv.setFont(cellstyle.fontname, cellstyle.fontsize, cellstyle.leading)
            self._curcellstyle = cellstyle
        (x, y), (_w, height) = pos, size
        text = self.canv.beginText(x + cellstyle.leftPadding, y + height - cellstyle.topPadding - cellstyle.fontsize)
        text.setFont(cellstyle.fontname, cellstyle.fontsize, cellstyle.leading)
        text.textLines(cellval, trim=0)
        self.canv.drawText(text)


def _dmy(day) -> str:
    text = str(day)[:10]
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}" if len(text) == 10 and text[4] == "-" else text


def _target(f) -> str:
    """What the finding is about: the record, or the whole commune (a rule counted per commune)."""
    if not isinstance(f.target_table, str):
        return "Toàn xã/phường"
    record = f.record if isinstance(f.record, str) and f.record else "—"
    return f"{TARGET_VI.get(f.target_table, f.target_table)}: {record}"


def _detail_rows(data: ReportData, rows, numbers: dict, start: int) -> list:
    w = DETAIL_WIDTHS[bool(data.photos)]
    out = []
    for i, f in enumerate(rows, start=start):
        number = numbers.get(f.rule_id if isinstance(f.rule_id, str) and f.rule_id else MANUAL_RULE)
        rule = wrap(f"({number}) {_rule_title(data, f.rule_id)}\n[{_rule_reference(data, f.rule_id)}]", w[1])
        record = wrap(f"{_target(f)}\n{SEVERITY_VI.get(f.severity, f.severity)} · {STATUS_VI.get(f.status, f.status)}",
                      w[2])
        note = f.note if isinstance(f.note, str) else ""
        found = f"Phát hiện ngày {_dmy(f.found_on)}" + (f" · {f.inspector}" if isinstance(f.inspector, str) else "")
        row = [str(i), rule, record, _position(f.lat, f.lon).replace(", ", ",\n"),
               wrap(f"{note}\n{found}" if note else found, w[4])]
        if data.photos:
            thumb = data.photos.get(f.uuid)
            row.append(Image(io.BytesIO(thumb), width=2.1 * cm, height=2.1 * cm, kind="proportional")
                       if thumb else "—")
        out.append(row)
    return out


def _details(data: ReportData, st: dict, summary: list[dict]) -> list:
    story = [CondPageBreak(HEADING_ROOM + 1 * cm), _p("III. CHI TIẾT THEO XÃ/PHƯỜNG VÀ DOANH NGHIỆP", st["h1"])]
    if not data.details:
        return story + [_p("Báo cáo toàn tỉnh chỉ gồm phần tổng hợp. Danh sách từng vi phạm được lập khi báo "
                           "cáo cho một xã/phường, một doanh nghiệp hoặc một mức độ (hoặc khi chọn in toàn bộ "
                           "danh sách).", st["base"])]
    if data.active.empty:
        return story + [_p("Không có vi phạm nào đang xử lý trong phạm vi báo cáo.", st["base"])]
    numbers = {r["rule_id"]: r["number"] for r in summary}
    style = TableStyle(_cell_style() + [("ALIGN", (0, 1), (0, -1), "CENTER")])
    widths = DETAIL_WIDTHS[bool(data.photos)]
    header = [wrap(h, w) for h, w in zip(DETAIL_HEAD, widths)]
    n = 0
    for ci, (commune, ops) in enumerate(grouped(data.active, numbers), start=1):
        total = sum(len(rows) for _, rows in ops)
        commune_head = _p(f"{ci}. {commune}: {total} vi phạm, tồn tại", st["h2"])
        for oi, (operator, rows) in enumerate(ops, start=1):
            # Headings never end a page: a short table goes over with them whole, a long one
            # starts on a page with room for them, its header row and its first rows.
            heads = ([commune_head] if oi == 1 else []) + [_p(f"{ci}.{oi}. {operator}: {len(rows)}", st["h3"])]
            for k in range(0, len(rows), ROWS_PER_TABLE):
                chunk = rows[k:k + ROWS_PER_TABLE]
                table = ListingTable([header] + _detail_rows(data, chunk, numbers, n + 1), colWidths=widths,
                                     repeatRows=1)
                table.setStyle(style)
                n += len(chunk)
                if k > 0:
                    story.append(table)
                elif len(chunk) <= 3:
                    story.append(KeepTogether(heads + [table]))
                else:
                    story += [CondPageBreak(HEADING_ROOM + 0.8 * cm * (len(heads) - 1))] + heads + [table]
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
    summary = summary_rows(data)
    story = (_heading_block(data, st) + _summary(data, st, summary) + _communes(data, st, summary)
             + _details(data, st, summary) + _signatures(st))
    pages = {"n": 0}

    def count(canvas, _doc):
        pages["n"] = canvas.getPageNumber()

    # Streams deflated only, not also ASCII85-armoured (reportlab's default, for 7-bit channels no
    # one uses): a fifth of the listing's time in pure Python, and a larger file.
    a85, rl_config.useA85 = rl_config.useA85, 0
    try:
        doc.build(story, onFirstPage=count, onLaterPages=count,
                  canvasmaker=_numbered_canvas(f"{FOOTER} · {data.scope}"))
    finally:
        rl_config.useA85 = a85
    return pages["n"]
