"""Where a file's coordinates are: VN-2000 declared in any form, or not declared at all.

- A declared VN-2000 Transverse Mercator (EPSG 9205-9218, 5896-5899, or a .prj as ArcGIS or
  MapInfo write it: "D_Vietnam_2000", any central meridian, with or without a TOWGS84 clause,
  whose signs web tools often paste in the wrong rotation convention) is reprojected with the
  official 7-parameter transformation (geo/vn2000.py), not whatever PROJ would pick.
- No CRS at all (a shapefile without .prj) or a geographic CRS holding metres: coordinates that
  are WGS84 degrees stay as they are (each feature outside Vietnam is then named by the checks);
  coordinates in VN-2000's range (X northing 1,000,000-2,600,000 m, Y easting ~500,000 m with
  the 500 km false easting) are read as VN-2000 on the meridian of the database's province,
  with a warning; anything else is refused: no one can say where such coordinates are.
"""

from __future__ import annotations

import re

import numpy as np
import shapely

from ..errors import InvalidInputError
from ..geo import vn2000
from ..geo.errors import CoordinateError
from ..geo.meridians import format_meridian, lookup_province

# Coordinates a VN-2000 3-degree (or 6-degree) zone gives anywhere in Vietnam, islands included.
NORTHING = (900_000.0, 2_700_000.0)
EASTING = (100_000.0, 900_000.0)
SCALE_ZONE = {0.9999: 3, 0.9996: 6}


def _folded(name: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def is_vn2000_datum(crs) -> bool:
    try:
        datum = crs.datum
    except Exception:
        return False
    names = {_folded(getattr(datum, "name", None)), _folded(getattr(crs.geodetic_crs, "name", None))}
    return any(n.removeprefix("d").removeprefix("gcs") in ("vietnam2000", "vn2000") for n in names)


def vn2000_zone(crs) -> tuple[float, int] | None:
    """(central meridian, zone width) of a VN-2000 Transverse Mercator CRS with the standard false
    easting and origin, whatever its name or TOWGS84 says; None for any other CRS."""
    if crs is None or not is_vn2000_datum(crs) or not crs.is_projected:
        return None
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in (op.method_name or "").lower():
        return None
    params = {str(p.code): p.value for p in op.params}   # EPSG parameter codes, as text
    lon0, k, lat0, x0, y0 = (params.get(c) for c in ("8802", "8805", "8801", "8806", "8807"))
    zone = SCALE_ZONE.get(round(float(k or 0), 4))
    if lon0 is None or zone is None or (lat0 or 0) != 0 or x0 != 500000 or (y0 or 0) != 0:
        return None
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        return None
    return float(lon0), zone


def vn2000_to_wgs84(geoms: list, meridian: float, zone: int, where: str) -> list:
    """Geometries in VN-2000 metres (x easting, y northing) as WGS84 lon/lat."""
    def transform(xy: np.ndarray) -> np.ndarray:
        if not len(xy):
            return xy
        try:
            lat, lon = vn2000.vn2000_to_wgs84(northing=xy[:, 1], easting=xy[:, 0], meridian=meridian,
                                              zone_width=zone)
        except CoordinateError as exc:
            raise InvalidInputError(f"{where}: {exc}") from None
        return np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])

    out = []
    for g in geoms:
        if g is None or isinstance(g, str) or g.is_empty:
            out.append(g)
        else:
            out.append(shapely.transform(shapely.force_2d(g), transform))
    return out


def _all_xy(geoms: list) -> np.ndarray:
    real = [g for g in geoms if g is not None and not isinstance(g, str) and not g.is_empty]
    if not real:
        return np.empty((0, 2))
    return shapely.get_coordinates(real)


def _mostly_degrees(geoms: list) -> bool:
    real = [g for g in geoms if g is not None and not isinstance(g, str) and not g.is_empty]
    degrees = sum(are_degrees(shapely.get_coordinates(g)) for g in real)
    return degrees * 2 >= len(real)


def are_degrees(xy: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(xy)) and np.all(np.abs(xy[:, 0]) <= 180) and np.all(np.abs(xy[:, 1]) <= 90))


def look_vn2000(xy: np.ndarray) -> bool:
    return bool(len(xy) and np.all(np.isfinite(xy))
                and np.all((xy[:, 0] >= EASTING[0]) & (xy[:, 0] <= EASTING[1]))
                and np.all((xy[:, 1] >= NORTHING[0]) & (xy[:, 1] <= NORTHING[1])))


def undeclared(geoms: list, where: str, province: str | None, declared: str | None = None) -> tuple[list, str | None]:
    """Geometries of a layer that declares no CRS (or, with `declared`, a geographic one whose
    numbers are not degrees): as they are when they are degrees, read as VN-2000 on the
    province's meridian when they look like it (with a note), else refused."""
    xy = _all_xy(geoms)
    if not len(xy) or are_degrees(xy) or _mostly_degrees(geoms):
        # Most features in degrees: a few that are not (a swapped pair, a typo) are each named
        # by the feature checks, not taken for the layer's coordinate system.
        return geoms, None
    x0, y0 = np.nanmin(xy, axis=0) if np.isfinite(xy).any() else (float("nan"), float("nan"))
    x1, y1 = np.nanmax(xy, axis=0) if np.isfinite(xy).any() else (float("nan"), float("nan"))
    extent = f"x {x0:,.0f}..{x1:,.0f}, y {y0:,.0f}..{y1:,.0f}"
    said_vi = f"khai báo {declared} nhưng" if declared else "không có hệ tọa độ (thiếu tệp .prj) và"
    said_en = f"declares {declared} but" if declared else "has no coordinate reference system (no .prj) and"
    if look_vn2000(xy):
        entry = None
        if province:
            try:
                entry = lookup_province(province)
            except CoordinateError:
                entry = None
        if entry is None:
            raise InvalidInputError(
                f"{where}: {said_vi} tọa độ ({extent}) có dạng VN-2000 (mét); không biết tỉnh nên không biết kinh "
                "tuyến trục: hãy kèm tệp .prj của VN-2000 / coordinates look like VN-2000 metres but the "
                "province, hence the central meridian, is unknown: add the VN-2000 .prj file")
        m = format_meridian(entry.meridian)
        out = vn2000_to_wgs84(geoms, entry.meridian, 3, where)
        note = (f"{said_vi} tọa độ ({extent}) có dạng VN-2000: đã đọc theo VN-2000 múi 3°, kinh tuyến trục {m} "
                f"của {entry.name}; nếu sai, hãy kèm tệp .prj / {said_en} its coordinates look like VN-2000: "
                f"read as VN-2000 3° zone, central meridian {m} ({entry.name}); add a .prj if that is wrong")
        return out, note
    raise InvalidInputError(
        f"{where}: {said_vi} tọa độ ({extent}) không phải kinh độ/vĩ độ WGS84, cũng không phải VN-2000: "
        "không biết chúng nằm ở đâu; hãy kèm tệp .prj hoặc xuất lại theo WGS84 (EPSG:4326) / "
        f"{said_en} its coordinates are neither WGS84 degrees nor VN-2000 metres: add the .prj file or "
        "export it again in WGS84 (EPSG:4326)")


def declared_vn2000(geoms: list, crs, where: str) -> tuple[list, str] | None:
    """Geometries of a layer in a declared VN-2000 TM zone, reprojected with the official
    parameters, and the note; None when the CRS is not one."""
    zone = vn2000_zone(crs)
    if zone is None:
        return None
    meridian, width = zone
    m = format_meridian(meridian)
    out = vn2000_to_wgs84(geoms, meridian, width, where)
    return out, (f"đã chuyển từ {crs.name} (VN-2000 múi {width}°, kinh tuyến trục {m}) sang WGS84 theo 7 tham số "
                 f"chính thức / reprojected from {crs.name} (VN-2000 {width}° zone, central meridian {m}) "
                 "with the official 7 parameters")
