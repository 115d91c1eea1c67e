"""The box to download for a commune or a province: from the database's boundaries when it has
them, else from the shipped list of units (a centre and a rough area: an approximate box, said so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .. import admin_units
from ..errors import InvalidInputError
from .tiles import BBox

KM_PER_DEG_LAT = 111.32
# A commune is not a square around its centre: the box drawn from its area is widened by this
# much so that its edges are on the map too (the tile count says what that costs).
APPROX_WIDEN = 1.6
APPROX_SIDE_KM = 8.0  # a commune with no area on record
# A commune or province is downloaded with this much of its box's width and height added on each
# side: the roads just across the border are how one gets there, and a tall commune zoomed to on
# a wide screen shows more than its box. Costs about 1.44x the tiles of the bare box.
AREA_MARGIN = 0.1


@dataclass(frozen=True)
class Area:
    bbox: BBox
    label: str  # "Xã Thạch Hà (42...)"
    approximate: bool  # from a centre and an area, not from a boundary

    def widened(self, fraction: float) -> Area:
        b = self.bbox
        dx, dy = (b.east - b.west) * fraction, (b.north - b.south) * fraction
        box = BBox(max(-180.0, b.west - dx), max(-85.0, b.south - dy),
                   min(180.0, b.east + dx), min(85.0, b.north + dy))
        return Area(box, self.label, self.approximate)

    def as_json(self) -> dict:
        b = self.bbox
        return {"label": self.label, "bbox": [b.west, b.south, b.east, b.north], "approximate": self.approximate}


def _square(lat: float, lon: float, side_km: float) -> BBox:
    half_lat = side_km / 2 / KM_PER_DEG_LAT
    half_lon = side_km / 2 / (KM_PER_DEG_LAT * max(0.1, math.cos(math.radians(lat))))
    return BBox(lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat)


def _union(boxes: list[BBox]) -> BBox:
    return BBox(min(b.west for b in boxes), min(b.south for b in boxes),
                max(b.east for b in boxes), max(b.north for b in boxes))


def _approx_box(lat: float | None, lon: float | None, area_km2: float | None) -> BBox | None:
    if lat is None or lon is None:
        return None
    side = math.sqrt(area_km2) * APPROX_WIDEN if area_km2 else APPROX_SIDE_KM
    return _square(lat, lon, side)


def _not_found(kind_vi: str, kind_en: str, code: str, where: str) -> InvalidInputError:
    return InvalidInputError(f"không có {kind_vi} mã {code} {where} / no {kind_en} with code {code}")


def area_from_resources(*, commune: str | None = None, province: str | None = None) -> Area:
    """From resources/admin_units: a centre and an area per commune, so an approximate box."""
    if commune:
        code = commune.strip().zfill(5)
        for p in admin_units.provinces():
            for c in admin_units.communes(p.code):
                if c.code == code:
                    box = _approx_box(c.centre_lat, c.centre_lon, c.area_km2)
                    if box is None:
                        raise InvalidInputError(f"{c.name} ({code}): danh mục không có tọa độ trung tâm; dùng --db "
                                                "hoặc --bbox / the list has no centre for it; use --db or --bbox")
                    return Area(box, f"{c.name} ({code})", True)
        raise _not_found("xã/phường", "commune", code, "trong danh mục 2025")
    p = admin_units.find_province(str(province))
    boxes = [b for c in admin_units.communes(p.code)
             if (b := _approx_box(c.centre_lat, c.centre_lon, c.area_km2)) is not None]
    if not boxes:
        raise InvalidInputError(f"{p.name}: không có tọa độ nào / no positions")
    return Area(_union(boxes), f"{p.name} ({p.code})", True)


def area_from_database(db_path: str | Path, *, commune: str | None = None, province: str | None = None) -> Area:
    """From the database's admin units: their boundaries' boxes, else their centres."""
    from sqlalchemy import select

    from ..model import AdminUnit
    from ..storage.targets import open_database

    code = (commune.strip().zfill(5) if commune else str(province).strip().zfill(2))
    with open_database(db_path, readonly=True) as db, db.session() as s:
        unit = s.scalars(select(AdminUnit).where(AdminUnit.code == code)).first()
        if unit is None:
            raise _not_found("xã/phường" if commune else "tỉnh", "commune" if commune else "province", code,
                             f"trong {db_path}")
        members = [unit] if commune else list(s.scalars(
            select(AdminUnit).where(AdminUnit.parent_code == code))) + [unit]
        boxes, approximate = [], False
        for u in members:
            if u.min_lon is not None and u.max_lon is not None and u.min_lon < u.max_lon:
                boxes.append(BBox(u.min_lon, u.min_lat, u.max_lon, u.max_lat))
                approximate = approximate or bool(u.boundary_synthetic)
            elif u.level == "commune":
                box = _approx_box(u.centre_lat, u.centre_lon, _resource_area(u.code))
                if box is not None:
                    boxes.append(box)
                    approximate = True
        if not boxes:
            raise InvalidInputError(f"{unit.name} ({code}): không có ranh giới hay tọa độ; dùng --bbox / no "
                                    "boundary or position; use --bbox")
        return Area(_union(boxes), f"{unit.name} ({code})", approximate)


def _resource_area(code: str) -> float | None:
    for p in admin_units.provinces():
        for c in admin_units.communes(p.code):
            if c.code == code:
                return c.area_km2
    return None


def resolve_area(*, bbox: str | None = None, commune: str | None = None, province: str | None = None,
                 db: str | Path | None = None, margin: float = AREA_MARGIN) -> Area:
    """Exactly one of bbox, commune, province; `db` gives real boundaries for the last two, which
    get `margin` around them (a box given by hand is taken as it is)."""
    if sum(v is not None for v in (bbox, commune, province)) != 1:
        raise InvalidInputError("cần đúng một trong --commune, --province, --bbox / give exactly one of "
                                "--commune, --province, --bbox")
    if bbox is not None:
        return Area(BBox.parse(bbox), bbox, False)
    if db is not None:
        return area_from_database(db, commune=commune, province=province).widened(margin)
    return area_from_resources(commune=commune, province=province).widened(margin)
