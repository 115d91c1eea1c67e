"""A vector file opened as a reference layer: its features as Web Mercator arrays.

The reading itself is the GIS import's (core/gis/reader.py: GDAL through pyogrio, a shapefile's
.dbf encoding found, an unclosed ring closed) and so is the coordinate handling
(core/gis/crs.py: VN-2000 in any declared form with the official 7 parameters, coordinates
without a CRS that look like VN-2000 read on the province's meridian). What differs is the
scale: a reference layer is drawn, not imported, so nothing is checked feature by feature and
everything is done on whole arrays (a province's 100k road segments in about a second).

Each file becomes up to three parts by geometry kind (points, lines, polygons; a KML folder may
mix them), each in the form the map's items draw (core.map_data PointLayer / PathLayer).
Invalid polygons (a ring crossing itself) are made valid so their fill is what QGIS shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely

from ..errors import InvalidInputError
from ..geo import vn2000
from ..geo.projection import lonlat_to_mercator
from ..gis import crs as file_crs
from ..gis.reader import KML_FIELDS, _read_layer
from ..map_data import PathLayer, PointLayer, path_arrays

WGS84_NAMES = (None, "EPSG:4326", "OGC:CRS84")
GEOMETRY_POINT, GEOMETRY_LINE, GEOMETRY_POLYGON = (0, 4), (1, 2, 5), (3, 6)


@dataclass
class VectorData:
    """A reference layer's features. `columns` holds every attribute, one value per feature."""

    count: int
    columns: dict[str, np.ndarray]
    points: PointLayer | None = None
    lines: PathLayer | None = None
    polygons: PathLayer | None = None
    polygon_points: PointLayer | None = None   # where a polygon's label goes
    lonlat_bounds: tuple[float, float, float, float] | None = None  # west, south, east, north
    notes: list[str] = field(default_factory=list)

    @property
    def fields(self) -> list[str]:
        return list(self.columns)

    def label_texts(self, name: str | None) -> np.ndarray:
        """Per feature, the text of attribute `name` ("" where it holds nothing: null, NaN)."""
        if not name or name not in self.columns:
            return np.full(self.count, "", dtype=object)
        return np.array([_text(v) for v in self.columns[name]], dtype=object)

    def parts(self):
        return [p for p in (self.points, self.lines, self.polygons, self.polygon_points) if p is not None]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return ""
        return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    text = str(v).strip()
    return "" if text in ("nan", "NaT", "None") else text


def list_layers(file: str | Path) -> list[str]:
    try:
        return [str(row[0]) for row in pyogrio.list_layers(file)]
    except Exception as exc:
        raise InvalidInputError(f"{file}: GDAL không đọc được tệp ({exc}) / GDAL cannot read the file") from None


def read_vector(file: str | Path, layer: str | None = None, province: str | None = None) -> VectorData:
    """The features of `layer` (all layers of a KML, the only one elsewhere) in map metres.
    A GeoPackage with several layers needs `layer`; `province` places coordinates that have no
    CRS but look like VN-2000 (the database's province code)."""
    file = Path(file)
    names = list_layers(file)
    if layer is not None:
        if layer not in names:
            raise InvalidInputError(f"{file}: không có lớp '{layer}' (có: {', '.join(names)}) / no layer '{layer}'")
        chosen = [layer]
    elif len(names) > 1 and file.suffix.lower() not in (".kml", ".kmz"):
        raise InvalidInputError(f"{file}: tệp có {len(names)} lớp ({', '.join(names)}), hãy chọn một / the file has "
                                f"{len(names)} layers, choose one")
    else:
        chosen = names
    previous = pyogrio.get_gdal_config_option("LIBKML_LAUNDER_FIELD_NAMES")
    pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})
    try:
        read = [_one_layer(file, name, province) for name in chosen]
    finally:
        pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": previous})
    geoms = np.concatenate([g for g, _c, _n in read]) if read else np.empty(0, object)
    columns: dict[str, list] = {}
    total = 0
    for g, cols, _n in read:
        for name, values in cols.items():
            columns.setdefault(name, [None] * total).extend(values)
        total += len(g)
        for values in columns.values():
            values.extend([None] * (total - len(values)))
    notes = [n for _g, _c, ns in read for n in ns]
    out = _arrays(geoms)
    out.columns = {k: np.array(v, dtype=object) for k, v in columns.items()}
    out.notes = notes
    return out


def _one_layer(file: Path, layer: str, province: str | None):
    meta, wkb, values, notes = _read_layer(file, layer, file.suffix.lower() == ".shp")
    names = [str(n) for n in meta["fields"]]
    kml = file.suffix.lower() in (".kml", ".kmz")
    # What KML readers add to every placemark is no attribute to label with (reader.KML_FIELDS).
    cols = {n: list(v) for n, v in zip(names, values) if not (kml and n.lower() in KML_FIELDS)}
    if wkb is None:
        return np.empty(0, object), {}, notes
    # "fix" closes a ring GDAL read unclosed; what GEOS still cannot hold becomes None (not drawn).
    geoms = shapely.from_wkb(wkb, on_invalid="fix")
    geoms = shapely.force_2d(geoms)
    geoms, note = _to_lonlat(geoms, meta.get("crs"), f"{file}: lớp '{layer}'", province)
    if note:
        notes.append(note)
    return geoms, cols, notes


def _to_lonlat(geoms: np.ndarray, crs_text, where: str, province: str | None):
    import pyproj

    crs = None
    if crs_text not in WGS84_NAMES:
        try:
            crs = pyproj.CRS.from_user_input(crs_text)
        except pyproj.exceptions.CRSError:
            raise InvalidInputError(f"{where}: hệ tọa độ không xác định được / unknown coordinate reference "
                                    "system") from None
    if crs is None or crs.is_geographic and not file_crs.is_vn2000_datum(crs):
        xy = shapely.get_coordinates(geoms)
        if not len(xy) or file_crs.are_degrees(xy[np.isfinite(xy).all(axis=1)]):
            return geoms, None
        declared = None if crs is None else str(crs.name)
        out, note = file_crs.undeclared(list(geoms), where, province, declared)
        return np.array(out, dtype=object), note
    zone = file_crs.vn2000_zone(crs)
    if zone is not None:
        meridian, width = zone

        def official(xy: np.ndarray) -> np.ndarray:
            if not len(xy):
                return xy
            lat, lon = vn2000.vn2000_to_wgs84(northing=xy[:, 1], easting=xy[:, 0], meridian=meridian,
                                              zone_width=width)
            return np.column_stack([np.asarray(lon, float), np.asarray(lat, float)])

        try:
            return shapely.transform(geoms, official), None
        except Exception as exc:  # coordinates outside the zone: named, not a traceback
            raise InvalidInputError(f"{where}: {exc}") from None
    transformer = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)

    def reproject(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    try:
        return shapely.transform(geoms, reproject), None
    except Exception as exc:
        raise InvalidInputError(f"{where}: không chuyển được hệ tọa độ {crs.name} về WGS84 ({exc}) / cannot "
                                "reproject to WGS84") from None


def _flat_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Simple parts (points, lines, polygons) of every geometry, with their feature index;
    collections (KML's MultiGeometry) and multi-geometries flattened."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    for _ in range(3):  # a collection of multi-geometries: flatten until nothing is composite
        composite = shapely.get_type_id(parts) >= 4
        if not composite.any():
            break
        inner, at = shapely.get_parts(parts[composite], return_index=True)
        keep = ~composite
        parts = np.concatenate([parts[keep], inner])
        index = np.concatenate([index[keep], index[composite][at]])
    return parts, index


def _path(geoms: np.ndarray, index: np.ndarray, rings: bool) -> tuple[PathLayer, np.ndarray]:
    """A PathLayer of these parts, numbered by the features they belong to (in file order)."""
    features, local = np.unique(index, return_inverse=True)
    local = local.reshape(-1)
    if rings:
        geoms = shapely.orient_polygons(geoms)  # winding fill: holes are holes, overlaps filled
        parts, part_of = shapely.get_rings(geoms, return_index=True)
        part_feature = local[part_of]
    else:
        parts, part_feature = geoms, local
    x, y, connect, vertex_feature = path_arrays(parts, part_feature)
    layer = PathLayer(features.astype(str), np.asarray(x, float), np.asarray(y, float), connect, vertex_feature, {})
    return layer, features


def _arrays(geoms: np.ndarray) -> VectorData:
    count = len(geoms)
    out = VectorData(count, {})
    if not count:
        return out
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = np.where(present, geoms, None)
    kind = shapely.get_type_id(geoms)
    polygonal = np.isin(kind, GEOMETRY_POLYGON)
    bad = polygonal & ~shapely.is_valid(geoms)
    if bad.any():  # a bow-tie parcel: drawn as the two triangles QGIS's "Fix geometries" makes
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    parts, index = _flat_parts(geoms[present])
    index = np.flatnonzero(present)[index]
    part_kind = shapely.get_type_id(parts)
    keep = ~shapely.is_empty(parts)
    parts, index, part_kind = parts[keep], index[keep], part_kind[keep]
    pts = part_kind == 0
    if pts.any():
        x, y = lonlat_to_mercator(shapely.get_x(parts[pts]), shapely.get_y(parts[pts]))
        out.points = PointLayer(index[pts].astype(str), np.asarray(x, float), np.asarray(y, float), {})
        out.points.attrs["feature"] = index[pts]
    lines = np.isin(part_kind, (1, 2))
    if lines.any():
        out.lines, features = _path(parts[lines], index[lines], rings=False)
        out.lines.attrs["feature"] = features
    polys = part_kind == 3
    if polys.any():
        out.polygons, features = _path(parts[polys], index[polys], rings=True)
        out.polygons.attrs["feature"] = features
        # A polygon's label inside its largest part.
        area = shapely.area(parts[polys])
        order = np.argsort(-area, kind="stable")
        first = np.unique(index[polys][order], return_index=True)[1]
        chosen = parts[polys][order][first]
        inside = shapely.point_on_surface(chosen)
        x, y = lonlat_to_mercator(shapely.get_x(inside), shapely.get_y(inside))
        feats = index[polys][order][first]
        out.polygon_points = PointLayer(feats.astype(str), np.asarray(x, float), np.asarray(y, float), {})
        out.polygon_points.attrs["feature"] = feats
    if len(parts):
        west, south, east, north = shapely.total_bounds(parts)
        out.lonlat_bounds = (float(west), float(south), float(east), float(north))
    return out
