"""`hatang report map DB OUT.pdf --commune CODE [--paper A4|A3] [--grid wgs84|vn2000]`: a printed
map sheet of one commune.

This module reads what the sheet shows and fixes its geometry: the commune's boundary and its
neighbours', the live sites, poles and routes around it (the same reads as the app's map, in Web
Mercator metres), and a round scale (1:5.000, 1:10.000, ...) at which the commune fits the map
frame, because an official sheet states a scale a reader can measure with a ruler.
map_sheet_pdf.py draws it. Web Mercator is conformal, so meridians and parallels are straight
and north is up everywhere on the sheet; ground distances are Mercator distances times
cos(latitude), exact enough over a commune for a scale bar.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..geo.projection import lonlat_to_mercator
from ..map_data import PathLayer, PointLayer, read_poles, read_routes, read_sites
from ..storage.database import Database
from ..storage.dialect import raw
from ..storage.targets import open_database

PAPERS = ("A4", "A3")
GRIDS = ("wgs84", "vn2000")
# Scales an official sheet is printed at; the smallest one at which the commune fits is used.
ROUND_SCALES = (2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000)
POINT_M = 0.0254 / 72  # one PDF point in metres of paper


@dataclass
class SheetData:
    commune_code: str
    commune_name: str
    province: str
    province_code: str | None
    today: dt.date
    boundary: shapely.Geometry | None  # the commune, lon/lat
    bounds: tuple[float, float, float, float]  # what the frame must show: the boundary, else around the centre
    neighbours: list  # [(name, geometry lon/lat, centre lon, centre lat)] of the communes around it
    sites: PointLayer
    poles: PointLayer
    routes: PathLayer
    villages: list = field(default_factory=list)  # [(name, lon, lat)]: the commune's villages, to find one's way
    sample_note: str | None = None


@dataclass(frozen=True)
class Frame:
    """The map frame on the page (points) and the Mercator box it shows, at `scale`."""

    left: float
    bottom: float
    width: float
    height: float
    cx: float  # Mercator centre
    cy: float
    scale: int  # 1:scale on the ground
    units_per_pt: float  # Mercator metres per PDF point

    @property
    def box(self) -> tuple[float, float, float, float]:
        hw, hh = self.width / 2 * self.units_per_pt, self.height / 2 * self.units_per_pt
        return self.cx - hw, self.cy - hh, self.cx + hw, self.cy + hh

    def to_page(self, x, y):
        x0, y0, _, _ = self.box
        return (self.left + (np.asarray(x) - x0) / self.units_per_pt,
                self.bottom + (np.asarray(y) - y0) / self.units_per_pt)

    @property
    def ground_m_per_pt(self) -> float:
        return self.scale * POINT_M


def fit_frame(bounds_lonlat: tuple[float, float, float, float], left: float, bottom: float,
              width: float, height: float) -> Frame:
    """The frame centred on the box, at the smallest round scale that shows all of it with a
    small margin."""
    w, s, e, n = bounds_lonlat
    (x0, x1), (y0, y1) = lonlat_to_mercator(np.array([w, e]), np.array([s, n]))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cos_lat = math.cos(math.radians((s + n) / 2))
    need_w, need_h = (x1 - x0) * 1.06 * cos_lat, (y1 - y0) * 1.06 * cos_lat  # ground metres
    scale = ROUND_SCALES[-1]
    for candidate in ROUND_SCALES:
        if need_w <= width * POINT_M * candidate and need_h <= height * POINT_M * candidate:
            scale = candidate
            break
    return Frame(left, bottom, width, height, float(cx), float(cy), scale, scale * POINT_M / cos_lat)


def gather(db: Database, commune: str, today: dt.date | None = None) -> SheetData:
    with db.session() as s:
        conn = raw(s)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        row = conn.execute(
            "SELECT name, boundary, centre_lat, centre_lon FROM admin_units "
            "WHERE code = ? AND level = 'commune' AND deleted = 0", (commune,)).fetchone()
        if row is None:
            raise InvalidInputError(f"--commune {commune}: không có xã/phường này trong cơ sở dữ liệu / "
                                    "no such commune in the database")
        name, blob, lat, lon = row
        boundary = shapely.from_wkb(bytes(blob)) if blob is not None else None
        if boundary is None and lat is None:
            raise InvalidInputError(f"--commune {commune}: xã/phường chưa có ranh giới và tâm, không vẽ được bản đồ / "
                                    "the commune has neither a boundary nor a centre to map")
        # A commune known by its centre only is mapped over ~4 km around it (a typical commune's size).
        w, s_, e, n = boundary.bounds if boundary is not None else (lon - 0.02, lat - 0.02, lon + 0.02, lat + 0.02)
        # Neighbours reach into the frame; a generous box, the frame clips what lies outside.
        pad = max(e - w, n - s_)
        villages = conn.execute(
            "SELECT name, centre_lon, centre_lat FROM admin_units WHERE level = 'village' AND deleted = 0 "
            "AND parent_code = ? AND centre_lat IS NOT NULL ORDER BY code", (commune,)).fetchall()
        others = conn.execute(
            "SELECT name, boundary, centre_lon, centre_lat FROM admin_units WHERE level = 'commune' AND deleted = 0 AND code <> ? "
            "AND boundary IS NOT NULL AND max_lon >= ? AND min_lon <= ? AND max_lat >= ? AND min_lat <= ?",
            (commune, w - pad, e + pad, s_ - pad, n + pad)).fetchall()
    box = (w - pad, s_ - pad, e + pad, n + pad)
    province = meta.get("province_name") or ""
    return SheetData(commune, name, province, meta.get("province_code"), today or dt.date.today(), boundary,
                     (w, s_, e, n),
                     [(o_name, shapely.from_wkb(bytes(b)), o_lon, o_lat) for o_name, b, o_lon, o_lat in others],
                     read_sites(db, box=box), read_poles(db, box=box), read_routes(db, box=box),
                     villages=[tuple(v) for v in villages], sample_note=meta.get("sample_note"))


def write(db_path: str | Path, out_path: Path, *, commune: str | None = None, year: int | None = None,
          paper: str = "A4", grid: str = "wgs84", basemap: str | Path | None = None) -> dict:
    if out_path.suffix.lower() != ".pdf":
        raise InvalidInputError(f"{out_path}: bản đồ in ghi ra tệp .pdf / the map sheet is written as .pdf")
    if not commune:
        raise InvalidInputError("bản đồ in cần --commune MÃ (mã xã/phường 5 số) / the map sheet needs "
                                "--commune CODE")
    if paper not in PAPERS:
        raise InvalidInputError(f"--paper {paper}: chỉ A4 hoặc A3 / only A4 or A3")
    if grid not in GRIDS:
        raise InvalidInputError(f"--grid {grid}: chỉ wgs84 hoặc vn2000 / only wgs84 or vn2000")
    if not out_path.parent.exists():
        raise InvalidInputError(f"{out_path}: thư mục không tồn tại / the folder does not exist")
    with open_database(db_path, readonly=True) as db:
        data = gather(db, commune)
    tiles = None
    if basemap is not None:
        from ..mbtiles import MBTiles

        tiles = MBTiles(basemap)
    from .map_sheet_pdf import draw_sheet

    try:
        # Written beside the target and moved into place: a failed sheet never leaves half a file.
        with atomic_output(out_path) as tmp:
            info = draw_sheet(data, tmp, paper=paper, grid=grid, tiles=tiles)
    finally:
        if tiles is not None:
            tiles.close()
    return {"report": "map", "out": str(out_path), "commune": commune, "commune_name": data.commune_name,
            "paper": paper, "grid": grid, "scale": info["scale"], "sites": int(info["sites"]),
            "poles": int(info["poles"]), "routes": int(info["routes"])}
