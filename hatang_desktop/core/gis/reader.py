"""Reading a GIS file into groups of features: one per (layer, geometry kind), in WGS84.

GDAL reads every format (pyogrio). A KML folder may mix points and lines, so a layer is split by
geometry kind; each group is later understood as one record type. Files that declare another CRS
(VN-2000 in any zone, UTM, Web Mercator) are reprojected with pyproj through geopandas.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely

from ..errors import InvalidInputError
from ..exchange.workbook_rows import NOT_IN_FILE
from .layers import LAYER_ORDER

# What KML readers add to every placemark; not survey attributes.
KML_FIELDS = {"description", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
              "visibility", "draworder", "icon", "snippet", "styleurl", "ogr_style", "id"}
KINDS = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
         "Polygon": "polygon", "MultiPolygon": "polygon"}
SUPPORTED = (".gpkg", ".geojson", ".json", ".kml", ".kmz", ".csv")
BROKEN = "broken"  # stands for a geometry GDAL read but GEOS cannot hold


@dataclass
class FeatureGroup:
    layer: str                       # layer or KML folder name, as in the file
    kind: str                        # point, line, polygon or none (a table without geometry)
    columns: list[str]               # attribute names with at least one value in the group
    values: list[list]               # one row of attribute values per feature
    geometries: list                 # shapely geometries in WGS84 (None for kind 'none')
    index: list[int]                 # feature number in its layer (1-based), for messages
    crs_note: str | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    def column(self, name: str) -> list:
        j = self.columns.index(name)
        return [row[j] for row in self.values]


class _TableParser(HTMLParser):
    """Label/value pairs of the two-column table operators put in a placemark's description."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def description_pairs(description) -> dict[str, str]:
    if not isinstance(description, str) or "<t" not in description.lower():
        return {}
    parser = _TableParser()
    try:
        parser.feed(description)
    except Exception:  # a broken balloon is not a reason to refuse the feature
        return {}
    out = {}
    for row in parser.rows:
        if len(row) >= 2 and row[0].strip():
            out[row[0].strip().rstrip(":").strip()] = row[1].strip()
    return out


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if v is pd.NaT or (not isinstance(v, (str, bytes, list, tuple, dict)) and pd.isna(v)):
        return None
    if isinstance(v, str) and not v.strip():
        return None
    return v


def _to_wgs84(frame, path: Path, layer: str) -> tuple[gpd.GeoDataFrame, str | None]:
    crs = frame.crs
    if crs is None:
        return frame, None  # KML, CSV and RFC 7946 GeoJSON are WGS84 by definition
    if crs.to_epsg() == 4326 or crs.equals("OGC:CRS84"):
        return frame, None
    try:
        out = frame.to_crs(4326)
    except Exception as exc:
        raise InvalidInputError(f"{path}: lớp '{layer}': không chuyển được hệ tọa độ {crs.name} về WGS84 "
                                f"({exc}) / cannot reproject to WGS84") from None
    return out, f"đã chuyển từ {crs.name} sang WGS84 / reprojected from {crs.name}"


def source_files(path: Path) -> list[tuple[Path, str | None]]:
    """(file, layer name override) pairs. OUT.geojson exported by `hatang export` is a set of
    OUT_<type>.geojson files: naming the set imports all of them."""
    if path.exists():
        return [(path, None)]
    if path.suffix.lower() in (".geojson", ".json"):
        found = [(path.with_name(f"{path.stem}_{r}{path.suffix}"), r) for r in LAYER_ORDER]
        found = [(p, r) for p, r in found if p.exists()]
        if found:
            return found
    raise InvalidInputError(f"{path}: không tìm thấy tệp / file not found")


def read_groups(path: str | Path) -> list[FeatureGroup]:
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        raise InvalidInputError(f"{path}: định dạng không hỗ trợ, dùng .gpkg, .geojson, .kml, .kmz hoặc "
                                ".csv / unsupported format")
    groups: list[FeatureGroup] = []
    # LIBKML launders untyped <Data name="Trạng thái"> into "Tr___ng_th__i" unless told not to.
    previous = pyogrio.get_gdal_config_option("LIBKML_LAUNDER_FIELD_NAMES")
    pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})
    try:
        for file, name in source_files(path):
            groups += _read_file(file, name, path)
    finally:
        pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": previous})
    return groups


def _read_file(file: Path, name: str | None, path: Path) -> list[FeatureGroup]:
    groups: list[FeatureGroup] = []
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(file)]
    except Exception as exc:
        raise InvalidInputError(f"{file}: GDAL không đọc được tệp ({exc}) / GDAL cannot read the file") from None
    geojson = _geojson_marks(file) if file.suffix.lower() in (".geojson", ".json") and len(layers) == 1 else None
    if file.suffix.lower() in (".geojson", ".json"):
        _check_declared_crs(file)
    for layer in layers:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                meta, _fids, wkb, values = pyogrio.raw.read(file, layer=layer)
            except Exception as exc:
                raise InvalidInputError(f"{file}: lớp '{layer}' không đọc được ({exc}) / unreadable layer") from None
        for w in caught:
            found = re.search(r"Unable to parse srs_id '([^']*)'", str(w.message))
            if found:  # GDAL then reads the layer as if it had no CRS: its coordinates cannot be placed
                raise InvalidInputError(_unknown_crs(file, layer, f"srs_id {found.group(1)}"))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        frame = pd.DataFrame({str(n): v for n, v in zip(meta["fields"], values)})
        marks = geojson if geojson is not None and len(geojson) == len(frame) else None
        if wkb is not None:
            # GEOS refuses some geometries GDAL reads (a line of one vertex): they become None here
            # and get a message naming the feature, instead of failing the whole file.
            geoms = shapely.from_wkb(wkb, on_invalid="ignore")
            broken = [w is not None and g is None for w, g in zip(wkb, geoms)]
            # WGS84 needs no pyproj CRS object at all (the common case, and the cheap one).
            crs = None if meta["crs"] in (None, "EPSG:4326", "OGC:CRS84") else meta["crs"]
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs=crs)
            frame.attrs["broken"] = broken
            frame.attrs["layer_kind"] = KINDS.get(str(meta.get("geometry_type") or "").replace(" Z", ""), "other")
        frame.attrs["marks"] = marks
        groups += _split(frame, name or layer, path, file.suffix.lower() in (".kml", ".kmz"))
    return groups


class _NonFinite:
    """A bare NaN, Infinity or -Infinity in a GeoJSON file (JSON has no such numbers; GDAL and
    Python read them as floats)."""

    def __init__(self, text: str):
        self.text = text


def _unknown_crs(file: Path, layer: str | None, crs: str) -> str:
    where = f"{file}: lớp '{layer}'" if layer else f"{file}"
    return (f"{where}: hệ tọa độ '{crs}' không xác định được, không biết các tọa độ nằm ở đâu; hãy xuất lại "
            f"tệp theo WGS84 (EPSG:4326) hoặc VN-2000 / unknown coordinate reference system '{crs}': "
            "export the file again in WGS84 (EPSG:4326) or VN-2000")


def _check_declared_crs(file: Path) -> None:
    """A GeoJSON 'crs' member GDAL cannot resolve (EPSG:0, a code that does not exist) is read as
    WGS84 without a word; the file's coordinates may be in any system: refuse it, naming the CRS.
    (The member may come before or after the features: the whole file is searched for it.)"""
    import pyproj

    try:
        data = file.read_bytes()
    except OSError:
        return
    found = re.search(rb'"crs"\s*:\s*\{[^{}]*"properties"\s*:\s*\{[^{}]*"name"\s*:\s*"([^"]*)"', data)
    if not found:
        return
    name = found.group(1).decode("utf-8", "replace")
    try:
        pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError:
        raise InvalidInputError(_unknown_crs(file, None, name)) from None


def _geojson_marks(file: Path) -> list[dict] | None:
    """Per feature of a GeoJSON FeatureCollection, in file order: {property: mark} for what GDAL's
    reading hides. A property the feature does not have gets NOT_IN_FILE (GDAL gives null, the
    same as an explicit null, which clears a value: a missing key says nothing); a bare NaN or
    Infinity gets a NotAValue (GDAL gives a float, read as empty). None when the file is not a
    FeatureCollection this can read (GDAL's reading stands alone then)."""
    import json

    from ..exchange.workbook_rows import NOT_IN_FILE
    from ..forms import NotAValue

    try:
        data = json.loads(file.read_bytes(), parse_constant=_NonFinite)
        features = data["features"] if isinstance(data, dict) and data.get("type") == "FeatureCollection" else None
    except (ValueError, OSError, RecursionError):
        return None
    if not isinstance(features, list):
        return None
    props = [f.get("properties") if isinstance(f, dict) else None for f in features]
    props = [p if isinstance(p, dict) else {} for p in props]
    keys = set().union(*props) if props else set()
    out = []
    for p in props:
        marks = {k: NOT_IN_FILE for k in keys if k not in p}
        for k, v in p.items():
            if isinstance(v, _NonFinite):
                marks[k] = NotAValue(v.text, f"'{v.text}' không phải là số / not a number")
        out.append(marks)
    return out


def _split(frame, layer: str, path: Path, kml: bool) -> list[FeatureGroup]:
    note = None
    broken = frame.attrs.get("broken") or [False] * len(frame)
    marks = frame.attrs.get("marks")  # GeoJSON: properties a feature lacks, NaN literals
    layer_kind = frame.attrs.get("layer_kind")
    has_geometry = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    if has_geometry:
        frame, note = _to_wgs84(frame, path, layer)
        geoms = list(frame.geometry.values)
        attrs = frame.drop(columns=[frame.geometry.name])
    else:
        geoms, attrs = [None] * len(frame), frame
    if not has_geometry or all(g is None for g in geoms) and not any(broken):
        kinds = ["none"] * len(frame)
    else:
        kinds = [KINDS.get(g.geom_type, "other") if g is not None and not g.is_empty else "empty" for g in geoms]
        geoms = [BROKEN if b else g for g, b in zip(geoms, broken)]
    names = [str(c) for c in attrs.columns]
    rows = [[_clean(v) for v in r] for r in attrs.itertuples(index=False, name=None)]
    if marks:
        at = {n: j for j, n in enumerate(names)}
        for row, feature_marks in zip(rows, marks):
            for key, mark in feature_marks.items():
                if key in at:
                    row[at[key]] = mark
    if kml:
        desc = names.index("description") if "description" in names else None
        rows, names = _kml_attributes(rows, names, desc)
    by_kind: dict[str, list[int]] = {}
    for i, k in enumerate(kinds):
        by_kind.setdefault(k, []).append(i)
    # Empty or unknown geometries travel with the layer's main kind, where they get their message.
    main = max((k for k in by_kind if k not in ("empty", "other")), key=lambda k: len(by_kind[k]),
               default=layer_kind if layer_kind in ("point", "line", "polygon") else None)
    for odd in ("empty", "other"):
        if odd in by_kind:
            by_kind.setdefault(main or "point", []).extend(by_kind.pop(odd))
    out = []
    for kind, idx in by_kind.items():
        idx = sorted(idx)
        used = [j for j, n in enumerate(names)
                if any(rows[i][j] is not None and rows[i][j] is not NOT_IN_FILE for i in idx)]
        out.append(FeatureGroup(layer, kind, [names[j] for j in used], [[rows[i][j] for j in used] for i in idx],
                                [geoms[i] for i in idx] if has_geometry else [None] * len(idx),
                                [i + 1 for i in idx], note))
    return out


def _kml_attributes(rows: list[list], names: list[str], desc: int | None) -> tuple[list[list], list[str]]:
    """Drop KML's own fields; add what a description table says that ExtendedData does not."""
    keep = [j for j, n in enumerate(names) if n.lower() not in KML_FIELDS]
    present = {names[j] for j in keep}
    from_desc: list[dict] = [{} for _ in rows]
    if desc is not None:
        first = next((description_pairs(r[desc]) for r in rows if r[desc]), {})
        # Balloons that only repeat the ExtendedData (our own export) are not parsed again.
        if any(k not in present for k in first):
            from_desc = [description_pairs(r[desc]) for r in rows]
    extra = []
    for pairs in from_desc:
        extra += [k for k in pairs if k not in present and k not in extra]
    new_rows = [[r[j] for j in keep] + [_clean(p.get(k)) for k in extra] for r, p in zip(rows, from_desc)]
    return new_rows, [names[j] for j in keep] + extra


def check_geometry(kind: str, geom) -> str | None:
    """Why a feature's geometry cannot be stored, in Vietnamese with an English gloss, or None."""
    if isinstance(geom, str) and geom == BROKEN:
        if kind == "line":
            return "đường chỉ có một đỉnh hoặc hình học hỏng / single-vertex or broken line"
        return "hình học hỏng, không đọc được / broken geometry"
    if geom is None or geom.is_empty:
        return "không có hình học / no geometry"
    if shapely.get_num_geometries(geom) > 1 and geom.geom_type.startswith("Multi"):
        return f"hình học gồm {shapely.get_num_geometries(geom)} phần; mỗi đối tượng chỉ một phần / " \
               "multi-part geometry; one part per feature"
    if kind == "line":
        part = geom.geoms[0] if geom.geom_type.startswith("Multi") else geom
        if len({tuple(c) for c in shapely.get_coordinates(part)}) < 2:
            return "đường rỗng hoặc chỉ có một đỉnh / empty or single-vertex line"
    if kind == "polygon" and not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        where = re.search(r"\[([-\d.]+) ([-\d.]+)\]", reason)
        at = f" tại ({float(where.group(2)):.6f}, {float(where.group(1)):.6f})" if where else ""
        if "Self-intersection" in reason or "Ring Self-intersection" in reason:
            return f"đa giác tự cắt{at} / self-intersecting polygon ({reason})"
        return f"đa giác không hợp lệ{at} / invalid polygon ({reason})"
    from ..coords import OutsideVietnamError, check_in_vietnam, is_in_vietnam

    xy = shapely.get_coordinates(geom)
    inside = is_in_vietnam(xy[:, 1], xy[:, 0])
    if not np.all(inside):
        k = int(np.argmin(inside))
        try:
            check_in_vietnam(float(xy[k, 1]), float(xy[k, 0]))
        except OutsideVietnamError as exc:
            return f"tọa độ ngoài lãnh thổ Việt Nam: {exc}"
    return None


def single(geom):
    """A one-part multi-geometry as its part, 2D."""
    geom = shapely.force_2d(geom)
    if geom.geom_type.startswith("Multi") and shapely.get_num_geometries(geom) == 1:
        return geom.geoms[0]
    return geom
