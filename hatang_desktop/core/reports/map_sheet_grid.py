"""The map sheet's coordinate grid: WGS84 meridians and parallels labelled in degrees and minutes,
or VN-2000 kilometre lines (the province's central meridian, 3° zone) labelled in metres.

In the sheet's Web Mercator the graticule is straight; VN-2000 lines are not quite (a transverse
Mercator on another datum), so they are drawn as polylines through transformed points and
labelled where they leave the frame.
"""

from __future__ import annotations

import numpy as np
from reportlab.lib import colors

from ..geo.projection import lonlat_to_mercator, mercator_to_lonlat
from .map_sheet import Frame

DEGREE_STEPS = (1 / 120, 1 / 60, 2 / 60, 5 / 60, 10 / 60, 15 / 60, 0.5, 1.0)  # 30", 1', 2', 5', ...
METRE_STEPS = (250, 500, 1000, 2000, 5000, 10000, 20000, 50000)
LINE_COLOUR = colors.HexColor("#5b7fa6")


def _step(span: float, steps, want: int = 5) -> float:
    for s in steps:
        if span / s <= want:
            return s
    return steps[-1]


def _dms(value: float, positive: str) -> str:
    total = round(abs(value) * 3600)
    d, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{d}°{m:02d}'{s:02d}\"{positive}" if s else f"{d}°{m:02d}'{positive}"


def _clip_line(c, frame: Frame) -> None:
    c.saveState()
    p = c.beginPath()
    p.rect(frame.left, frame.bottom, frame.width, frame.height)
    c.clipPath(p, stroke=0, fill=0)


def _wgs84(c, frame: Frame, font: str, size: float) -> str:
    x0, y0, x1, y1 = frame.box
    (w, e), (s, n) = mercator_to_lonlat(np.array([x0, x1]), np.array([y0, y1]))
    step = _step(max(e - w, n - s), DEGREE_STEPS)
    lons = np.arange(np.ceil(w / step) * step, e, step)
    lats = np.arange(np.ceil(s / step) * step, n, step)
    right, top = frame.left + frame.width, frame.bottom + frame.height
    c.setFont(font, size)
    c.setFillColor(colors.black)
    for lon in lons:
        px, _ = frame.to_page(*lonlat_to_mercator(lon, s))
        px = float(px)
        c.line(px, frame.bottom, px, top)
        c.line(px, frame.bottom - 3, px, frame.bottom)
        c.line(px, top, px, top + 3)
        label = _dms(lon, "E")
        c.drawCentredString(px, frame.bottom - 3 - size, label)
        c.drawCentredString(px, top + 4.5, label)
    for lat in lats:
        _, py = frame.to_page(*lonlat_to_mercator(w, lat))
        py = float(py)
        c.line(frame.left, py, right, py)
        c.line(frame.left - 3, py, frame.left, py)
        c.line(right, py, right + 3, py)
        label = _dms(lat, "N")
        c.saveState(); c.translate(frame.left - 4.5, py); c.rotate(90); c.drawCentredString(0, 0, label); c.restoreState()
        c.saveState(); c.translate(right + 4.5 + size * 0.8, py); c.rotate(90); c.drawCentredString(0, 0, label)
        c.restoreState()
    return "Lưới tọa độ: WGS84 (EPSG:4326), độ-phút"


def _vn2000(c, frame: Frame, province_code: str | None, font: str, size: float) -> str:
    from ..geo.vn2000 import vn2000_to_wgs84, wgs84_to_vn2000
    from ..geo.meridians import central_meridian, format_meridian

    meridian = central_meridian(province_code)
    x0, y0, x1, y1 = frame.box
    corners_lon, corners_lat = mercator_to_lonlat(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]))
    north, east = wgs84_to_vn2000(corners_lat, corners_lon, meridian=meridian)
    step = _step(max(np.ptp(north), np.ptp(east)), METRE_STEPS)
    right, top = frame.left + frame.width, frame.bottom + frame.height
    samples = np.linspace(0, 1, 24)

    def page_of(n_arr, e_arr):
        lat, lon = vn2000_to_wgs84(northing=n_arr, easting=e_arr, meridian=meridian)
        return frame.to_page(*lonlat_to_mercator(np.asarray(lon), np.asarray(lat)))

    c.setFont(font, size)
    c.setFillColor(colors.black)
    n_lo, n_hi, e_lo, e_hi = north.min(), north.max(), east.min(), east.max()
    lines = []
    for e in np.arange(np.ceil(e_lo / step) * step, e_hi, step):  # easting: near-vertical lines
        lines.append(("e", e, *page_of(n_lo + (n_hi - n_lo) * samples, np.full(24, e))))
    for n in np.arange(np.ceil(n_lo / step) * step, n_hi, step):
        lines.append(("n", n, *page_of(np.full(24, n), e_lo + (e_hi - e_lo) * samples)))
    _clip_line(c, frame)
    for _, _, px, py in lines:
        p = c.beginPath(); p.moveTo(px[0], py[0])
        for x, y in zip(px[1:], py[1:]):
            p.lineTo(x, y)
        c.drawPath(p, stroke=1, fill=0)
    c.restoreState()
    for kind, value, px, py in lines:
        label = f"{value:,.0f}".replace(",", ".")
        if kind == "e":  # where it crosses the bottom edge
            x = float(np.interp(frame.bottom, py, px)) if py[0] < py[-1] else float(np.interp(frame.bottom, py[::-1], px[::-1]))
            if frame.left <= x <= right:
                c.drawCentredString(x, frame.bottom - 3 - size, label)
        else:
            y = float(np.interp(frame.left, px, py)) if px[0] < px[-1] else float(np.interp(frame.left, px[::-1], py[::-1]))
            if frame.bottom <= y <= top:
                c.saveState(); c.translate(frame.left - 4.5, y); c.rotate(90); c.drawCentredString(0, 0, label)
                c.restoreState()
    return f"Lưới tọa độ: VN-2000, kinh tuyến trục {format_meridian(meridian)}, múi 3°, mét"


def draw_grid(c, frame: Frame, grid: str, province_code: str | None, font: str, size: float) -> str:
    """Draws the grid lines and their labels; returns the sheet's note on the coordinate system."""
    c.saveState()
    c.setStrokeColor(LINE_COLOUR)
    c.setLineWidth(0.35)
    c.setDash(6, 3)
    if grid == "vn2000":
        note = _vn2000(c, frame, province_code, font, size)
    else:
        note = _wgs84(c, frame, font, size)
    c.restoreState()
    return note
