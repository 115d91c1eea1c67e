"""Repairing what GIS tools repair, before a feature is checked (issue 17).

Published boundaries are often invalid as published (a ring that crosses itself, a hole of two
points, a ring that is not closed, a vertex typed twice); QGIS opens them and its "Fix
geometries" makes them valid. The import does the same and says so: each repair is a note naming
what was repaired and where (lat, lon), which the import lists as a warning with the feature's
number and name. A polygon is refused only when nothing polygonal is left; a line only when
fewer than two distinct points are left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import shapely

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")
PUNCTUAL = ("Point", "MultiPoint")
KIND_OF = {**dict.fromkeys(PUNCTUAL, "point"), **dict.fromkeys(LINEAR, "line"),
           **dict.fromkeys(POLYGONAL, "polygon")}
KIND_VI = {"point": "điểm", "line": "đường", "polygon": "đa giác"}
# Parts of a repaired polygon smaller than this share of the whole are slivers the crossing made
# (a loop of a few square metres at a doubled vertex), dropped rather than kept as an island.
SLIVER_SHARE = 1e-4


@dataclass
class Repair:
    geometry: object          # the repaired geometry (or the original one when nothing was done)
    notes: list[str]          # what was repaired, Vietnamese / English, with the place


def at(x: float, y: float) -> str:
    return f"({y:.6f}, {x:.6f})"


def _place(reason: str) -> str:
    found = re.search(r"\[([-\d.eE+]+) ([-\d.eE+]+)", reason)
    return f" tại {at(float(found.group(1)), float(found.group(2)))}" if found else ""


def parts(geom) -> list:
    """The simple parts of a geometry, nested GeometryCollections flattened, empty parts dropped."""
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type in ("GeometryCollection", "MultiPoint", "MultiLineString", "MultiPolygon"):
        return [p for g in geom.geoms for p in parts(g)]
    return [geom]


def unpack_collection(geom) -> tuple[object, str | None]:
    """A GeometryCollection as the geometry of its one kind (a Point, a MultiPolygon...), with a
    note; a collection mixing kinds stays as it is (check_geometry names it)."""
    if geom is None or geom.geom_type != "GeometryCollection":
        return geom, None
    found = parts(geom)
    if not found:
        return shapely.GeometryCollection(), None
    kinds = {KIND_OF.get(p.geom_type) for p in found}
    if len(kinds) != 1 or None in kinds:
        return geom, None
    kind = kinds.pop()
    if len(found) == 1:
        out = found[0]
    elif kind == "point":
        out = shapely.MultiPoint(found)
    elif kind == "line":
        out = shapely.MultiLineString(found)
    else:
        out = shapely.MultiPolygon(found)
    return out, (f"tập hình học (GeometryCollection) đọc thành {KIND_VI[kind]} / geometry collection read "
                 f"as its {kind}{'s' if len(found) > 1 else ''}")


def mixed_collection(geom) -> str | None:
    """Why a collection cannot be one record: it mixes points, lines and polygons."""
    if geom is None or geom.geom_type != "GeometryCollection":
        return None
    kinds = sorted({KIND_OF.get(p.geom_type, p.geom_type) for p in parts(geom)})
    shown_vi = ", ".join(KIND_VI.get(k, k) for k in kinds)
    return (f"tập hình học gồm nhiều loại ({shown_vi}); mỗi đối tượng chỉ một loại hình học / geometry "
            f"collection mixing {', '.join(kinds)}; one kind of geometry per feature")


def repair(kind: str, geom) -> Repair:
    """The geometry made valid for its kind, and what was done. Points and geometries of another
    kind than `kind` are left alone (check_geometry names them)."""
    if geom is None or isinstance(geom, str) or geom.is_empty:
        return Repair(geom, [])
    if kind == "polygon" and geom.geom_type in POLYGONAL:
        return _repair_polygon(geom)
    if kind == "line" and geom.geom_type in LINEAR:
        return _repair_line(geom)
    return Repair(geom, [])


def _repeated(geom) -> tuple[object, int, str]:
    """The geometry without consecutive repeated vertices, how many were dropped, and where the
    first one was."""
    cleaned = shapely.remove_repeated_points(geom, 0.0)
    dropped = int(shapely.get_num_coordinates(geom) - shapely.get_num_coordinates(cleaned))
    if not dropped:
        return geom, 0, ""
    xy = shapely.get_coordinates(geom)
    same = (xy[1:] == xy[:-1]).all(axis=1)
    k = int(same.argmax()) if same.any() else 0
    return cleaned, dropped, f" tại {at(float(xy[k, 0]), float(xy[k, 1]))}"


def _repair_line(geom) -> Repair:
    cleaned, dropped, where = _repeated(geom)
    if not dropped:
        return Repair(geom, [])
    left = len({tuple(c) for c in shapely.get_coordinates(cleaned)})
    if left < 2 or cleaned.is_empty:
        return Repair(geom, [])  # check_geometry: "đường chỉ có một đỉnh"
    return Repair(cleaned, [f"đã bỏ {dropped} đỉnh lặp lại liền nhau{where} / removed {dropped} repeated "
                            f"vertices"])


def _repair_polygon(geom) -> Repair:
    notes = []
    if geom.is_valid:
        cleaned, dropped, where = _repeated(geom)
        if dropped and cleaned.is_valid and not cleaned.is_empty:
            notes.append(f"đã bỏ {dropped} đỉnh trùng nhau liền nhau{where} / removed {dropped} duplicate "
                         "vertices")
            return Repair(cleaned, notes)
        return Repair(geom, [])
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom)
    polygons = [p for p in parts(fixed) if p.geom_type == "Polygon" and p.area > 0]
    if not polygons:
        return Repair(geom, [])   # nothing polygonal left: check_geometry refuses it, with the reason
    total = sum(p.area for p in polygons)
    kept = [p for p in polygons if p.area >= SLIVER_SHARE * total]
    slivers = len(polygons) - len(kept)
    out = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)
    out = shapely.remove_repeated_points(out, 0.0)
    what_vi, what_en = _reason_words(reason)
    note = f"đã sửa {what_vi}{_place(reason)} (make_valid)"
    if slivers:
        note += f", bỏ {slivers} mảnh vụn"
    if len(kept) > 1 and geom.geom_type == "Polygon":
        note += f", thành {len(kept)} phần"
    note += f" / repaired {what_en} ({reason})"
    if slivers:
        note += f", {slivers} sliver{'s' if slivers > 1 else ''} dropped"
    if len(kept) > 1 and geom.geom_type == "Polygon":
        note += f", now {len(kept)} parts"
    return Repair(out, [note])


def _reason_words(reason: str) -> tuple[str, str]:
    low = reason.lower()
    if "self-intersection" in low:
        return "đa giác tự cắt", "self-intersecting polygon"
    if "too few points" in low:
        return "vòng có quá ít đỉnh", "ring with too few points"
    if "hole" in low:
        return "lỗ nằm ngoài đa giác", "hole outside its shell"
    if "nested shells" in low or "nested" in low:
        return "các phần lồng nhau", "nested parts"
    return "đa giác không hợp lệ", "invalid polygon"
