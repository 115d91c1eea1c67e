"""The map sheet's side panel: scale, legend of what the map shows, scale bar, north arrow,
coordinate system and sources."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from .. import map_style
from ..operators import BY_CODE
from .findings_pdf import BOLD, FONT
from .map_sheet import Frame, SheetData
from .map_sheet_pdf import DASHES, METHOD_VI, SCALE_BAR_M, TOWER_VI, _colour, _symbol

LEGEND_TITLE = "CHÚ GIẢI"


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def scale_bar_length(frame: Frame, max_pt: float) -> int:
    """The longest round length (metres) whose bar fits in max_pt points."""
    fits = [m for m in SCALE_BAR_M if m / frame.ground_m_per_pt <= max_pt]
    return fits[-1] if fits else SCALE_BAR_M[0]


def _length_label(m: int) -> str:
    return f"{m / 1000:g} km".replace(".", ",") if m >= 1000 else f"{m} m"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if stringWidth(trial, font, size) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    return lines + ([line] if line else [])


def draw_panel(c, frame: Frame, data: SheetData, drawn: dict, grid_note: str, *, x: float, top: float,
               bottom: float, width: float, k: float) -> None:
    c.setStrokeColor(colors.black); c.setLineWidth(0.8)
    c.rect(x, bottom, width, top - bottom, stroke=1, fill=0)
    pad = 8 * k
    y = top - pad - 11 * k
    c.setFillColor(colors.black)
    c.setFont(BOLD, 11 * k)
    c.drawCentredString(x + width / 2, y, f"Tỉ lệ 1:{_thousands(frame.scale)}")
    y -= 20 * k
    c.setFont(BOLD, 10 * k)
    c.drawCentredString(x + width / 2, y, LEGEND_TITLE)
    y -= 6 * k
    row = 12.5 * k
    sx, tx = x + pad + 8 * k, x + pad + 22 * k
    c.setFont(FONT, 8 * k)

    def entry(text: str, draw) -> None:
        nonlocal y
        y -= row
        c.saveState(); draw(sx, y + 3 * k); c.restoreState()
        c.setFillColor(colors.black); c.setFont(FONT, 8 * k)
        c.drawString(tx, y, text)

    def heading(text: str) -> None:
        nonlocal y
        y -= row
        c.setFont(BOLD, 8 * k); c.setFillColor(colors.black)
        c.drawString(x + pad, y, text)

    if drawn["operators"]:
        heading("Trạm BTS theo doanh nghiệp")
        for code in sorted(drawn["operators"], key=lambda c_: list(BY_CODE).index(c_)):
            op = BY_CODE[code]

            def dot(px, py, op=op):
                c.setFillColor(_colour(op.colour)); c.setStrokeColor(colors.HexColor("#202020")); c.setLineWidth(0.4)
                _symbol(c, "o", px, py, 5.5 * k)
            entry(op.brand, dot)
    if drawn["towers"]:
        heading("Loại cột anten")
        for tower in sorted(drawn["towers"], key=list(map_style.TOWER_SYMBOLS).index):
            def mark(px, py, tower=tower):
                c.setFillColor(colors.HexColor("#bdbdbd")); c.setStrokeColor(colors.HexColor("#202020"))
                c.setLineWidth(0.4)
                _symbol(c, map_style.TOWER_SYMBOLS[tower], px, py, 5.5 * k)
            entry(TOWER_VI[tower], mark)
    if drawn["methods"]:
        heading("Tuyến cáp (màu theo doanh nghiệp)")
    for method in sorted(drawn["methods"], key=lambda m: list(map_style.ROUTE_LINES).index(m)
                         if m in map_style.ROUTE_LINES else 99):
        style, w = map_style.ROUTE_LINES.get(method, ("solid", 1.3))

        def line(px, py, style=style, w=w):
            c.setStrokeColor(colors.HexColor("#404040")); c.setLineWidth(w * 0.7); c.setDash(DASHES[style])
            c.line(px - 8 * k, py, px + 8 * k, py)
        entry(METHOD_VI.get(method, method), line)
    heading("Cột, ranh giới")
    if drawn["poles"]:
        def pole(px, py):
            c.setFillColor(_colour(map_style.POLE_COLOUR)); c.setStrokeColor(colors.HexColor("#6e6e6e"))
            c.setLineWidth(0.2); c.circle(px, py, 1.2 * k, stroke=1, fill=1)
        entry("Cột treo cáp", pole)

    def own(px, py):
        colour, w = map_style.PROVINCE_PEN
        c.setStrokeColor(_colour(colour)); c.setLineWidth(w * 0.8); c.setFillColor(colors.HexColor("#f6f3e8"))
        c.rect(px - 8 * k, py - 4 * k, 16 * k, 8 * k, stroke=1, fill=1)
    if data.boundary is not None:
        entry("Ranh giới xã/phường", own)
    if data.neighbours:
        def other(px, py):
            colour, w = map_style.COMMUNE_PEN
            c.setStrokeColor(_colour(colour)); c.setLineWidth(w * 0.75); c.setDash(3, 2)
            c.line(px - 8 * k, py, px + 8 * k, py)
        entry("Ranh giới xã/phường lân cận", other)

    # Scale bar: four alternating blocks, labelled at 0, half and the full round length.
    metres = scale_bar_length(frame, width - 2 * pad - 16 * k)
    bar = metres / frame.ground_m_per_pt
    bx, by = x + pad + 4 * k, bottom + 92 * k
    c.setLineWidth(0.5); c.setStrokeColor(colors.black)
    for i in range(4):
        c.setFillColor(colors.black if i % 2 == 0 else colors.white)
        c.rect(bx + i * bar / 4, by, bar / 4, 4 * k, stroke=1, fill=1)
    c.setFillColor(colors.black); c.setFont(FONT, 7 * k)
    c.drawCentredString(bx, by + 7 * k, "0")
    c.drawCentredString(bx + bar / 2, by + 7 * k, _length_label(metres // 2).replace(" km", "").replace(" m", ""))
    c.drawCentredString(bx + bar, by + 7 * k, _length_label(metres))
    # North arrow: grid north is true north on the sheet's (Mercator) map.
    ax, ay = x + width / 2, by + 24 * k
    p = c.beginPath(); p.moveTo(ax, ay + 30 * k); p.lineTo(ax - 7 * k, ay); p.lineTo(ax, ay + 7 * k); p.close()
    c.setFillColor(colors.black); c.drawPath(p, stroke=1, fill=1)
    p = c.beginPath(); p.moveTo(ax, ay + 30 * k); p.lineTo(ax + 7 * k, ay); p.lineTo(ax, ay + 7 * k); p.close()
    c.setFillColor(colors.white); c.drawPath(p, stroke=1, fill=1)
    c.setFillColor(colors.black); c.setFont(BOLD, 10 * k)
    c.drawCentredString(ax, ay + 33 * k, "B")
    # Notes at the foot of the panel.
    notes = [grid_note, "Phép chiếu bản đồ: Web Mercator (EPSG:3857)",
             "Nguồn dữ liệu: cơ sở dữ liệu Hạ tầng Desktop"]
    if drawn.get("attribution"):
        notes.append(f"Bản đồ nền: {drawn['attribution']}")
    if data.sample_note:
        notes.append(data.sample_note.split(" / ")[0])
    c.setFont(FONT, 6 * k)
    ny = by - 10 * k
    for note in notes:
        for line_text in _wrap(note, FONT, 6 * k, width - 2 * pad):
            c.drawString(x + pad, ny, line_text)
            ny -= 7.4 * k
