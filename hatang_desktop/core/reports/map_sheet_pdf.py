"""Draws the map sheet (map_sheet.py reads it) with reportlab, vector throughout so it stays
crisp at any print resolution; only an MBTiles basemap is raster.

Layout, landscape: a title band (title, commune and province, date); the map frame on the left
with a graticule labelled on its edges; a side panel on the right with the scale, the legend of
what is drawn, a scale bar of a round length, the north arrow, the coordinate system and the
sources. Colours and symbols are core/map_style.py's and the operators', as in the app.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import shapely
from reportlab.lib import colors
from reportlab.lib.pagesizes import A3, A4, landscape
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas

from .. import map_style
from ..geo.projection import lonlat_to_mercator
from ..operators import BY_CODE
from .findings import _place, vn_date
from .findings_pdf import BOLD, FONT, _fonts
from .map_sheet import Frame, SheetData, fit_frame

TITLE = "BẢN ĐỒ HẠ TẦNG VIỄN THÔNG THỤ ĐỘNG"
TOWER_VI = {"ground_tower": "Cột tự đứng", "guyed_mast": "Cột dây co", "rooftop_pole": "Cột trên mái",
            "camouflaged": "Cột ngụy trang", "small_cell": "Trạm nhỏ / khác", "": "Trạm nhỏ / khác"}
METHOD_VI = {"aerial": "Cáp treo", "duct": "Cáp trong cống bể", "buried": "Cáp chôn trực tiếp"}
DASHES = {"solid": [], "dash": [4, 2], "dot": [1, 1.6]}
SCALE_BAR_M = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)  # halves stay round
SITE_PT = 5.5
MARGIN = 1.0 * cm
PANEL_W = 6.2 * cm


def _colour(text: str):
    return colors.HexColor(text, hasAlpha=len(text) == 9)


def _symbol(c: rl_canvas.Canvas, kind: str, x: float, y: float, size: float) -> None:
    """One site marker, the shapes the app's map draws (pyqtgraph's names in map_style)."""
    r = size / 2
    p = c.beginPath()
    if kind == "t1":
        p.moveTo(x, y + r * 1.15); p.lineTo(x - r * 1.05, y - r * 0.75); p.lineTo(x + r * 1.05, y - r * 0.75)
    elif kind == "d":
        p.moveTo(x, y + r * 1.2); p.lineTo(x + r, y); p.lineTo(x, y - r * 1.2); p.lineTo(x - r, y)
    elif kind == "s":
        p.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7)
    elif kind == "h":
        for i in range(6):
            a = math.radians(60 * i)
            (p.moveTo if i == 0 else p.lineTo)(x + r * math.cos(a), y + r * math.sin(a))
    else:
        p.circle(x, y, r * 0.85)
    p.close()
    c.drawPath(p, stroke=1, fill=1)


def _ring_path(c, frame: Frame, geometry) -> object:
    p = c.beginPath()
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        xy = shapely.get_coordinates(ring)
        px, py = frame.to_page(*lonlat_to_mercator(xy[:, 0], xy[:, 1]))
        p.moveTo(px[0], py[0])
        for x, y in zip(px[1:], py[1:]):
            p.lineTo(x, y)
        p.close()
    return p


def _basemap(c, frame: Frame, tiles) -> str | None:
    x0, y0, x1, y1 = frame.box
    m_per_px = frame.units_per_pt * 72 / 200  # 200 dpi: sharp on paper, a bounded number of tiles
    for key in tiles.tiles_for_view(m_per_px, x0, y0, x1, y1):
        blob = tiles.tile(key)
        if not blob:
            continue
        tx0, ty0, tx1, ty1 = key.bounds()
        (px0, px1), (py0, py1) = frame.to_page(np.array([tx0, tx1]), np.array([ty0, ty1]))
        c.drawImage(ImageReader(io.BytesIO(blob)), float(px0), float(py0), float(px1 - px0), float(py1 - py0))
    return tiles.metadata.get("attribution") or tiles.metadata.get("name")


class _Labels:
    """Place names written where they cover neither one another nor a site symbol and stay inside
    the frame (greedy, in the order given: what matters most first); each tries just above its
    point, then just below, else is left out."""

    def __init__(self, c, frame: Frame, obstacles=()) -> None:
        self.c, self.frame, self.taken = c, frame, list(obstacles)

    def _free(self, box) -> bool:
        f = self.frame
        if box[0] < f.left or box[2] > f.left + f.width or box[1] < f.bottom or box[3] > f.bottom + f.height:
            return False
        return not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in self.taken)

    def put(self, text: str, lon, lat, font: str, size: float, colour: str) -> bool:
        if lon is None or lat is None:
            return False
        px, py = (float(v) for v in self.frame.to_page(*lonlat_to_mercator(float(lon), float(lat))))
        w = stringWidth(text, font, size)
        for base in (py + 1.5, py - size - 1.5):
            box = (px - w / 2 - 1, base - size * 0.25, px + w / 2 + 1, base + size)
            if self._free(box):
                break
        else:
            return False
        self.taken.append(box)
        c = self.c
        # A light box under the letters (not a stroked copy of the text, which would print the name
        # twice for search and copy): a name stays legible where a route crosses it.
        c.saveState()
        c.setFillColor(colors.white); c.setFillAlpha(0.7)
        c.roundRect(box[0], box[1], box[2] - box[0], box[3] - box[1], 1.5, stroke=0, fill=1)
        c.restoreState()
        c.setFont(font, size)
        c.setFillColor(colors.HexColor(colour))
        c.drawCentredString(px, base, text)
        return True


def _draw_map(c, frame: Frame, data: SheetData, tiles) -> dict:
    """Everything inside the frame, clipped to it; returns what was drawn, for the legend."""
    drawn = {"operators": [], "towers": [], "methods": [], "poles": 0, "routes": 0, "sites": 0,
             "attribution": None}
    c.saveState()
    clip = c.beginPath()
    clip.rect(frame.left, frame.bottom, frame.width, frame.height)
    c.clipPath(clip, stroke=0, fill=0)
    c.setFillColor(colors.white)
    c.rect(frame.left, frame.bottom, frame.width, frame.height, stroke=0, fill=1)
    if tiles is not None:
        drawn["attribution"] = _basemap(c, frame, tiles)
    if data.boundary is not None and tiles is None:
        c.setFillColor(colors.HexColor("#f6f3e8"))
        c.drawPath(_ring_path(c, frame, data.boundary), stroke=0, fill=1, fillMode=1)
    colour, width = map_style.COMMUNE_PEN
    c.setStrokeColor(_colour(colour)); c.setLineWidth(width * 0.75); c.setDash(3, 2)
    for _, geometry, *_ in data.neighbours:
        c.drawPath(_ring_path(c, frame, geometry), stroke=1, fill=0)
    c.setDash()
    x0, y0, x1, y1 = frame.box
    routes = data.routes
    if len(routes):
        inside = (routes.feature_bounds()[:, 2] >= x0) & (routes.feature_bounds()[:, 0] <= x1) & \
                 (routes.feature_bounds()[:, 3] >= y0) & (routes.feature_bounds()[:, 1] <= y1)
        for i in np.flatnonzero(inside):
            keep = routes.vertex_feature == i
            px, py = frame.to_page(routes.x[keep], routes.y[keep])
            ends = routes.connect[keep]
            op, method = routes.attrs["operator"][i], routes.attrs["method"][i]
            style, w = map_style.ROUTE_LINES.get(method, ("solid", 1.3))
            c.setStrokeColor(_colour(BY_CODE.get(op, BY_CODE["OTHER"]).colour)); c.setLineWidth(w * 0.7)
            c.setDash(DASHES[style])
            p = c.beginPath(); p.moveTo(px[0], py[0])
            for k in range(1, len(px)):
                (p.moveTo if ends[k - 1] == 0 else p.lineTo)(px[k], py[k])
            c.drawPath(p, stroke=1, fill=0)
            drawn["routes"] += 1
            if method not in drawn["methods"]:
                drawn["methods"].append(method)
        c.setDash()
    poles = data.poles
    in_box = (poles.x >= x0) & (poles.x <= x1) & (poles.y >= y0) & (poles.y <= y1)
    c.setFillColor(_colour(map_style.POLE_COLOUR)); c.setStrokeColor(colors.HexColor("#6e6e6e"))
    c.setLineWidth(0.2)
    px, py = frame.to_page(poles.x[in_box], poles.y[in_box])
    for x, y in zip(px, py):
        c.circle(float(x), float(y), 0.9, stroke=1, fill=1)
    drawn["poles"] = int(in_box.sum())
    sites = data.sites
    in_box = (sites.x >= x0) & (sites.x <= x1) & (sites.y >= y0) & (sites.y <= y1)
    c.setStrokeColor(colors.HexColor("#202020")); c.setLineWidth(0.4)
    for i in np.flatnonzero(in_box):
        op, tower = sites.attrs["operator"][i], sites.attrs["tower_type"][i]
        operator = BY_CODE.get(op, BY_CODE["OTHER"])
        c.setFillColor(_colour(operator.colour))
        px, py = frame.to_page(sites.x[i], sites.y[i])
        _symbol(c, map_style.TOWER_SYMBOLS.get(tower, "o"), float(px), float(py), SITE_PT)
        if operator.code not in drawn["operators"]:
            drawn["operators"].append(operator.code)
        tower = tower if tower in map_style.TOWER_SYMBOLS else ""
        if tower not in drawn["towers"]:
            drawn["towers"].append(tower)
    drawn["sites"] = int(in_box.sum())
    if data.boundary is not None:  # on top: the commune's outline is the sheet's subject
        # What lies outside the commune stays as context, washed out so the commune reads first.
        veil = _ring_path(c, frame, data.boundary)
        veil.rect(frame.left, frame.bottom, frame.width, frame.height)
        c.setFillColor(colors.white); c.setFillAlpha(0.55)
        c.drawPath(veil, stroke=0, fill=1, fillMode=0)  # even-odd: the frame minus the commune
        c.setFillAlpha(1)
    sx, sy = frame.to_page(sites.x[in_box], sites.y[in_box])
    r = SITE_PT * 0.6
    labels = _Labels(c, frame, [(x - r, y - r, x + r, y + r) for x, y in zip(sx.tolist(), sy.tolist())])
    # The commune's villages, then its neighbours' names: where one is, and what lies around.
    drawn["villages"] = sum(labels.put(name, lon, lat, FONT, 5.5, "#5a4a2a") for name, lon, lat in data.villages)
    drawn["neighbour_names"] = sum(labels.put(name.upper(), lon, lat, BOLD, 6.5, "#8a8a8a")
                                   for name, _, lon, lat in data.neighbours)
    if data.boundary is not None:
        colour, width = map_style.PROVINCE_PEN
        c.setStrokeColor(_colour(colour)); c.setLineWidth(width * 0.8)
        c.drawPath(_ring_path(c, frame, data.boundary), stroke=1, fill=0)
    c.restoreState()
    c.setStrokeColor(colors.black); c.setLineWidth(1.0)
    c.rect(frame.left, frame.bottom, frame.width, frame.height, stroke=1, fill=0)
    return drawn


def draw_sheet(data: SheetData, path: Path, *, paper: str = "A4", grid: str = "wgs84", tiles=None) -> dict:
    from .map_sheet_grid import draw_grid

    _fonts()
    size = landscape(A3 if paper == "A3" else A4)
    pw, ph = size
    c = rl_canvas.Canvas(str(path), pagesize=size, pageCompression=1)
    c.setTitle(f"{TITLE} - {data.commune_name}")
    c.setAuthor("Hạ tầng Desktop")
    c.setSubject(f"{data.commune_name} ({data.commune_code}), {data.province}")
    k = ph / landscape(A4)[1]  # type grows with the paper
    # Title band.
    c.setFillColor(colors.black)
    c.setFont(BOLD, 16 * k)
    c.drawCentredString(pw / 2, ph - MARGIN - 16 * k, TITLE)
    c.setFont(BOLD, 11.5 * k)
    c.drawCentredString(pw / 2, ph - MARGIN - 32 * k, f"{data.commune_name.upper()} - {data.province.upper()}")
    c.setFont(FONT, 8.5 * k)
    place = _place(data.province)
    c.drawRightString(pw - MARGIN, ph - MARGIN - 8 * k,
                      f"{place}, {vn_date(data.today)}" if place else vn_date(data.today).capitalize())
    c.drawString(MARGIN, ph - MARGIN - 8 * k, f"Mã xã/phường: {data.commune_code}")
    top = ph - MARGIN - 44 * k
    label_room = 0.75 * cm  # the graticule's labels outside the frame
    panel_w = PANEL_W * k
    frame = fit_frame(data.bounds, MARGIN + label_room, MARGIN + label_room,
                      pw - 2 * MARGIN - panel_w - 2 * label_room - 0.3 * cm, top - MARGIN - 2 * label_room)
    drawn = _draw_map(c, frame, data, tiles)
    grid_note = draw_grid(c, frame, grid, data.province_code, FONT, 6.5 * k)
    from .map_sheet_panel import draw_panel

    draw_panel(c, frame, data, drawn, grid_note, x=pw - MARGIN - panel_w, top=top, bottom=MARGIN,
               width=panel_w, k=k)
    c.showPage()
    c.save()
    return {"scale": frame.scale, **{n: drawn[n] for n in ("sites", "poles", "routes")}}
