"""Reading a GIS file into groups of features: one per (layer, geometry kind), in WGS84.

GDAL reads every format (pyogrio). A KML folder may mix points and lines, so a layer is split by
geometry kind; each group is later understood as one record type. Files that declare another CRS
(VN-2000 in any zone, UTM, Web Mercator) are reprojected with pyproj through geopandas.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.raw
import pyproj
import shapely

from ..errors import InvalidInputError
from ..exchange.workbook_rows import NOT_IN_FILE
from . import containers, crs as file_crs
from .geometry import mixed_collection, repair, unpack_collection
from .layers import LAYER_ORDER
from .values import clean_column, clean_value, convert_legacy

# What KML readers add to every placemark; not survey attributes.
KML_FIELDS = {"description", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
              "visibility", "draworder", "icon", "snippet", "styleurl", "ogr_style", "id"}
KINDS = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
         "Polygon": "polygon", "MultiPolygon": "polygon"}
SUPPORTED = (".gpkg", ".geojson", ".json", ".kml", ".kmz", ".csv", ".shp", ".zip")
BROKEN = "broken"  # stands for a geometry GDAL read but GEOS cannot hold


class FeatureGroup:
    """One (layer, geometry kind) group of features. Its attributes are held a column at a time
    (`data`: one list per column), as the reader gets them and the validation judges them; `values`
    gives them a row at a time for the few readers that look at one feature (built once, on demand).

    layer: layer or KML folder name, as in the file; kind: point, line, polygon or none (a table
    without geometry); columns: attribute names with at least one value in the group; geometries:
    shapely geometries in WGS84 (None for kind 'none'); index: feature number in its layer
    (1-based), for messages. extra "warnings": what the import lists for the group (text
    re-encoded, layer split by kind...); extra "repairs": {position in the group: [what was
    repaired]} (geometry.repair), listed as warnings with the feature's number and name; notes:
    how the group was read (encoding), shown with it."""

    def __init__(self, layer: str, kind: str, columns: list[str], values: list[list] | None, geometries: list,
                 index: list[int], crs_note: str | None = None, extra: dict | None = None,
                 notes: list[str] | None = None, *, data: list[list] | None = None):
        self.layer, self.kind, self.columns = layer, kind, columns
        self.geometries, self.index, self.crs_note = geometries, index, crs_note
        self.extra = extra if extra is not None else {}
        self.notes = notes if notes is not None else []
        if data is None:
            rows = values or []
            data = [[row[j] for row in rows] for j in range(len(columns))]
            self._rows = rows
        else:
            self._rows = None
        self.data = data

    def __len__(self) -> int:
        return len(self.index)

    @property
    def values(self) -> list[list]:
        """The attributes one row per feature."""
        if self._rows is None:
            self._rows = [list(r) for r in zip(*self.data)] if self.data else [[] for _ in self.index]
        return self._rows

    def column(self, name: str) -> list:
        return self.data[self.columns.index(name)]


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


def _to_wgs84(geoms: np.ndarray, crs, declared, path: Path, layer: str,
              province: str | None = None) -> tuple[np.ndarray, str | None, bool]:
    """The geometries in WGS84, the note saying how they were read and whether that note is a
    warning (coordinates without a usable CRS read as VN-2000). `crs` is a pyproj CRS, or None
    for WGS84 or no CRS at all; `declared` what the file says."""
    where = f"{path}: lớp '{layer}'"
    if crs is None or crs.is_geographic and not file_crs.is_vn2000_datum(crs):
        # KML, CSV and RFC 7946 GeoJSON are WGS84 by definition; a shapefile without .prj says
        # nothing. Either way the numbers must be degrees, or VN-2000 metres (crs.py).
        shown = None if declared in (None, "") else str(crs.name if crs is not None else declared)
        out, note = file_crs.undeclared(list(geoms), where, province, shown)
        if note is not None:
            return _geometry_array(out), note, True
        if crs is None:
            return geoms, None, False
    if crs.to_epsg() == 4326 or crs.equals("OGC:CRS84"):
        return geoms, None, False
    official = file_crs.declared_vn2000(list(geoms), crs, where)
    if official is not None:
        out, note = official
        return _geometry_array(out), note, False
    try:
        out = gpd.GeoSeries(geoms, crs=crs).to_crs(4326).values
    except Exception as exc:
        raise InvalidInputError(f"{path}: lớp '{layer}': không chuyển được hệ tọa độ {crs.name} về WGS84 "
                                f"({exc}) / cannot reproject to WGS84") from None
    return _geometry_array(list(out)), f"đã chuyển từ {crs.name} sang WGS84 / reprojected from {crs.name}", False


def _geometry_array(geoms) -> np.ndarray:
    out = np.empty(len(geoms), dtype=object)
    out[:] = list(geoms)
    return out


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


def read_groups(path: str | Path, province: str | None = None) -> list[FeatureGroup]:
    """The file's features in groups (layer x geometry kind), in WGS84. `province` (a code) is
    the database's: coordinates without a CRS that look like VN-2000 are read on its meridian."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        raise InvalidInputError(f"{path}: định dạng không hỗ trợ, dùng .gpkg, .geojson, .kml, .kmz, .shp, .zip "
                                "hoặc .csv / unsupported format")
    groups: list[FeatureGroup] = []
    # LIBKML launders untyped <Data name="Trạng thái"> into "Tr___ng_th__i" unless told not to.
    previous = pyogrio.get_gdal_config_option("LIBKML_LAUNDER_FIELD_NAMES")
    pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})
    try:
        if path.suffix.lower() == ".zip":
            groups += _read_zip(path, province)
        else:
            for file, name in source_files(path):
                groups += _read_file(file, name, path, province)
    finally:
        pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": previous})
    return groups


def _read_zip(path: Path, province: str | None) -> list[FeatureGroup]:
    """A zipped shapefile (or GeoJSON, KML, GeoPackage files), read from a private temporary folder."""
    from ..atomic import private_dir

    if not path.exists():
        raise InvalidInputError(f"{path}: không tìm thấy tệp / file not found")
    groups: list[FeatureGroup] = []
    with private_dir(tempfile.gettempdir()) as folder:
        files = containers.unpack_zip(path, folder)
        several = len(files) > 1
        for file in files:
            # Layers of several files are named by the file inside the zip, as a folder would show.
            name = str(file.relative_to(folder).with_suffix("")) if several else None
            if file.suffix.lower() == ".shp" and not several:
                name = file.stem
            groups += _read_file(file, name, path, province)
    return groups


def _read_layer(file: Path, layer: str, shapefile: bool):
    """pyogrio's raw reading of one layer; a shapefile's text read byte for byte when its
    encoding is to be found (containers.read_bytewise)."""
    codec = containers.text_codec(file) if shapefile else None
    bytewise = codec is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            meta, _fids, wkb, values = pyogrio.raw.read(file, layer=layer, encoding="latin1" if bytewise else None)
        except Exception as exc:
            raise InvalidInputError(f"{file}: lớp '{layer}' không đọc được ({exc}) / unreadable layer") from None
    for w in caught:
        found = re.search(r"Unable to parse srs_id '([^']*)'", str(w.message))
        if found:  # GDAL then reads the layer as if it had no CRS: its coordinates cannot be placed
            raise InvalidInputError(_unknown_crs(file, layer, f"srs_id {found.group(1)}"))
        if "Non closed ring" in str(w.message):
            continue  # closed by the reading below, and named per feature
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = []
    if codec == "detect":
        meta, values, encoding = _decode_dbf(meta, values)
        if encoding in ("tcvn3", "vni"):
            label = containers.ENCODING_LABELS[encoding]
            notes.append(f"văn bản trong tệp .dbf mã {label}, đã chuyển sang Unicode / .dbf text in {label}, "
                         "converted to Unicode")
    elif codec is not None:
        meta, values = _decode_with(meta, values, codec)
    if shapefile and codec != "detect" and containers.declared_encoding(file):
        notes.append(f"bảng mã theo tệp .cpg: {containers.declared_encoding(file)} / encoding from the .cpg file")
    return meta, wkb, values, notes


def _decode_with(meta: dict, values: list, codec: str) -> tuple[dict, list]:
    """Text read as Latin-1 (one character per byte) decoded with the .cpg's codec."""
    def decode(x: str) -> str:
        return x.encode("latin-1", errors="replace").decode(codec, errors="replace")

    meta = dict(meta)
    meta["fields"] = np.array([decode(str(n)) for n in meta["fields"]], dtype=object)
    values = [np.array([decode(x) if isinstance(x, str) else x for x in v], dtype=object)
              if getattr(v, "dtype", None) == object else v for v in values]
    return meta, values


def _decode_dbf(meta: dict, values: list) -> tuple[dict, list, str]:
    """Text fields (and field names) read as Latin-1, decoded in the encoding that spells them."""
    texts = [str(n) for n in meta["fields"]]
    columns = [j for j, v in enumerate(values) if getattr(v, "dtype", None) == object]
    for j in columns:
        texts += [x for x in values[j] if isinstance(x, str)]
    encoding, _decoded = containers.decode_text(texts)
    if encoding == "cp1252" and all(t.isascii() for t in texts):
        return meta, values, "ascii"

    def decode(x):
        return _one(x, encoding)

    meta = dict(meta)
    meta["fields"] = np.array([decode(str(n)) for n in meta["fields"]], dtype=object)
    values = list(values)
    for j in columns:
        values[j] = np.array([decode(x) if isinstance(x, str) else x for x in values[j]], dtype=object)
    return meta, values, encoding


def _one(text: str, encoding: str) -> str:
    from ..legacy_encodings import to_unicode

    raw = text.encode("latin-1", errors="replace")
    if encoding == "utf-8":
        return raw.decode("utf-8", errors="replace")
    if encoding == "cp1252":
        return containers._cp1252(raw)
    return to_unicode(containers._cp1252(raw), encoding)


def _read_file(file: Path, name: str | None, path: Path, province: str | None = None) -> list[FeatureGroup]:
    groups: list[FeatureGroup] = []
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(file)]
    except Exception as exc:
        raise InvalidInputError(f"{file}: GDAL không đọc được tệp ({exc}) / GDAL cannot read the file") from None
    geojson = _geojson_marks(file) if file.suffix.lower() in (".geojson", ".json") and len(layers) == 1 else None
    if file.suffix.lower() in (".geojson", ".json"):
        _check_declared_crs(file)
    shapefile = file.suffix.lower() == ".shp"
    for layer in layers:
        meta, wkb, values, notes = _read_columns(file, layer, shapefile)
        n = len(wkb) if wkb is not None else (len(values[0]) if len(values) else 0)
        # One column per name, the last of a repeated name kept where the first stood (as a
        # dict, and the table the reader used to build from it, keep them).
        table = {str(name): v for name, v in zip(meta["fields"], values)}
        if n == 0 and table:
            n = len(next(iter(table.values())))
        cleaned = [clean_column(v) for v in table.values()]
        for (field_name, raw), column in zip(table.items(), cleaned):
            note = convert_legacy(field_name, raw, column)
            if note:
                notes.append(note)
        read = _Layer(list(table), cleaned, n, notes)
        read.marks = geojson if geojson is not None and len(geojson) == n else None
        if wkb is not None:
            # GEOS refuses some geometries GDAL reads (a line of one vertex): they become None here
            # and get a message naming the feature, instead of failing the whole file. A ring GDAL
            # read unclosed is closed (as QGIS does) and the feature named in a warning.
            geoms = shapely.from_wkb(wkb, on_invalid="ignore")
            broken = np.array([w is not None and g is None for w, g in zip(wkb, geoms)], dtype=bool)
            if broken.any():
                fixed = shapely.from_wkb(np.array([w if b else None for w, b in zip(wkb, broken)], dtype=object),
                                         on_invalid="fix")
                for i in np.flatnonzero(broken).tolist():
                    g = fixed[i]
                    if g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon"):
                        geoms[i], broken[i] = g, False
                        read.fixed[i] = ["đã khép vòng không khép kín của đa giác / closed an unclosed ring"]
            read.geoms, read.broken = geoms, broken
            # WGS84 needs no pyproj CRS object at all (the common case, and the cheap one).
            read.crs = None if meta["crs"] in (None, "EPSG:4326", "OGC:CRS84") else pyproj.CRS.from_user_input(meta["crs"])
            read.declared = meta["crs"]
            read.kind = KINDS.get(str(meta.get("geometry_type") or "").replace(" Z", ""), "other")
        groups += _split(read, name or layer, path, file.suffix.lower() in (".kml", ".kmz"), province)
    return groups


@dataclass
class _Layer:
    """One layer as read: its attribute columns (cleaned values) and geometries."""
    names: list[str]
    columns: list[list]
    n: int
    notes: list[str]
    geoms: np.ndarray | None = None     # None: a table without geometry
    broken: np.ndarray | None = None    # GDAL read it, GEOS cannot hold it
    fixed: dict[int, list[str]] = field(default_factory=dict)   # unclosed rings closed
    crs: object = None                  # pyproj CRS, None for WGS84 or none declared
    declared: str | None = None
    kind: str | None = None             # the layer's declared geometry kind
    marks: list[dict] | None = None     # GeoJSON: properties a feature lacks, NaN literals


# What an attribute column read through Arrow gives as clean_column would: these types only
# (GDAL's Arrow stream gives others, dates and lists, its own way: those layers are read raw).
_ARROW_TYPES = {"OFTString", "OFTReal", "OFTInteger", "OFTInteger64"}


def _read_columns(file: Path, layer: str, shapefile: bool):
    """_read_layer's (meta, wkb, values, notes), through GDAL's Arrow stream where it can: a
    column at a time in C, text cleaned there (blank to null, NFC) and columns without a value
    left out, where _read_layer builds every feature's values one by one. `values` then holds
    pyarrow arrays."""
    if shapefile and containers.text_codec(file) is not None:
        return _read_layer(file, layer, shapefile)   # text read byte for byte, decoded here
    import pyarrow as pa

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            meta, table = pyogrio.raw.read_arrow(file, layer=layer)
        except Exception:
            return _read_layer(file, layer, shapefile)   # its own wording for what cannot be read
    for w in caught:
        if re.search(r"Unable to parse srs_id", str(w.message)):
            return _read_layer(file, layer, shapefile)   # refused there, naming the CRS
        if "Non closed ring" in str(w.message):
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fields = [str(f) for f in meta["fields"]]
    geometry = bool(meta.get("geometry_type"))
    if (table.num_columns != len(fields) + geometry
            or any(t not in _ARROW_TYPES for t in meta.get("ogr_types") or ())
            or any(not (pa.types.is_string(c.type) or pa.types.is_large_string(c.type) or pa.types.is_floating(c.type)
                        or pa.types.is_integer(c.type) or pa.types.is_boolean(c.type))
                   for c in table.columns[:len(fields)])):
        return _read_layer(file, layer, shapefile)
    wkb = None
    if geometry:
        wkb = table.column(len(fields)).to_numpy(zero_copy_only=False)
    notes = []
    if shapefile and containers.declared_encoding(file):
        notes.append(f"bảng mã theo tệp .cpg: {containers.declared_encoding(file)} / encoding from the .cpg file")
    return meta, wkb, [table.column(j) for j in range(len(fields))], notes


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
    from ..field_values import NotAValue

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


def _split(read: _Layer, layer: str, path: Path, kml: bool, province: str | None = None) -> list[FeatureGroup]:
    note = None
    n = read.n
    broken = read.broken if read.broken is not None else np.zeros(n, dtype=bool)
    layer_kind = read.kind
    read_notes = list(read.notes)
    repairs: dict[int, list[str]] = {i: list(r) for i, r in read.fixed.items()}
    has_geometry = read.geoms is not None
    crs_warning = False
    if has_geometry:
        geoms, note, crs_warning = _to_wgs84(read.geoms, read.crs, read.declared, path, layer, province)
        geoms = list(geoms)
    else:
        geoms = [None] * n
    group_warnings = [f"lớp '{layer}': {note}"] if note and crs_warning else []
    group_warnings += [f"lớp '{layer}': {x}" for x in read_notes]
    if not n:
        return [FeatureGroup(layer, layer_kind if layer_kind in ("point", "line", "polygon") else "none", [], [], [],
                             [], note, extra={"warnings": group_warnings + [
                                 f"lớp '{layer}' không có đối tượng nào / layer '{layer}' has no features"]},
                             notes=read_notes)]
    if not has_geometry or all(g is None for g in geoms) and not broken.any():
        kinds = None
    else:
        kinds = _kinds_repaired(geoms, broken, repairs)
        if broken.any():
            geoms = [BROKEN if b else g for g, b in zip(geoms, broken.tolist())]
    names, columns = list(read.names), read.columns
    if read.marks:
        at = {name: j for j, name in enumerate(names)}
        for i, feature_marks in enumerate(read.marks):
            for key, mark in feature_marks.items():
                if key in at:
                    columns[at[key]][i] = mark
    if kml:
        rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(n)]
        desc = names.index("description") if "description" in names else None
        rows, names = _kml_attributes(rows, names, desc)
        columns = [[r[j] for r in rows] for j in range(len(names))]
    by_kind: dict[str, list[int]] = {}
    if kinds is None:
        by_kind["none"] = list(range(n))
    else:
        for i, k in enumerate(kinds):
            by_kind.setdefault(k, []).append(i)
    # Empty or unknown geometries travel with the layer's main kind, where they get their message.
    main = max((k for k in by_kind if k not in ("empty", "other")), key=lambda k: len(by_kind[k]),
               default=layer_kind if layer_kind in ("point", "line", "polygon") else None)
    for odd in ("empty", "other"):
        if odd in by_kind:
            by_kind.setdefault(main or "point", []).extend(by_kind.pop(odd))
    if len(by_kind) > 1:
        shown = ", ".join(f"{len(idx)} {k}" for k, idx in by_kind.items())
        group_warnings.append(f"lớp '{layer}' có nhiều loại hình học ({shown}): mỗi loại đọc thành một nhóm riêng / "
                              f"layer '{layer}' mixes geometry kinds ({shown}): each kind is read as its own group")
    out = []
    whole = len(by_kind) == 1
    for g_no, (kind, idx) in enumerate(by_kind.items()):
        idx = sorted(idx)
        # The group's columns: the whole layer's lists when it is one group (the usual case).
        parts = columns if whole else [[col[i] for i in idx] for col in columns]
        used = [j for j, col in enumerate(parts) if _has_value(col)]
        position = {i: k for k, i in enumerate(idx)}
        out.append(FeatureGroup(layer, kind, [names[j] for j in used], None,
                                geoms if whole and has_geometry else
                                [geoms[i] for i in idx] if has_geometry else [None] * len(idx),
                                [i + 1 for i in idx], note,
                                extra={"warnings": group_warnings if g_no == 0 else [],
                                       "repairs": {position[i]: r for i, r in repairs.items() if i in position}},
                                notes=read_notes, data=[parts[j] for j in used]))
    return out


def _has_value(column: list) -> bool:
    """Whether a column holds a value for any feature (a GeoJSON feature's missing key is none)."""
    for v in column:
        if v is not None and v is not NOT_IN_FILE:
            return True
    return False


def _kinds_repaired(geoms: list, broken, repairs: dict[int, list[str]]) -> list[str]:
    """Each geometry's kind (point, line, polygon, or empty, other), with collections unpacked and
    lines and polygons repaired in place (geometry.repair) where they need it: the checks that
    find which ones run over the whole array, repair itself only on those."""
    arr = np.array(geoms, dtype=object)
    known = np.array([g is not None and not isinstance(g, str) for g in geoms], dtype=bool)
    types = np.full(len(geoms), -1, dtype=np.int64)
    empty = np.ones(len(geoms), dtype=bool)
    if known.any():
        types[known] = shapely.get_type_id(arr[known])
        empty[known] = shapely.is_empty(arr[known])
    needs = np.zeros(len(geoms), dtype=bool)
    shaped = known & ~empty & np.isin(types, (1, 3, 5, 6))     # lines and polygons
    if shaped.any():
        part = arr[shaped]
        dropped = shapely.get_num_coordinates(part) != shapely.get_num_coordinates(
            shapely.remove_repeated_points(part, 0.0))
        polygonal = np.isin(types[shaped], (3, 6))
        invalid = np.zeros(len(part), dtype=bool)
        if polygonal.any():
            invalid[polygonal] = ~shapely.is_valid(part[polygonal])
        needs[shaped] = dropped | invalid
    needs |= types == 7                                         # collections: unpacked one by one
    kind_of = {0: "point", 4: "point", 1: "line", 5: "line", 3: "polygon", 6: "polygon"}
    kinds = []
    for i, (t, e) in enumerate(zip(types.tolist(), empty.tolist())):
        if broken[i] or e:
            kinds.append("empty")
        elif not needs[i]:
            kinds.append(kind_of.get(t, "other"))
        else:
            g, unpacked = unpack_collection(geoms[i])
            if unpacked:
                repairs.setdefault(i, []).append(unpacked)
            kind = KINDS.get(g.geom_type, "other")
            fixed = repair(kind, g)
            geoms[i] = fixed.geometry
            if fixed.notes:
                repairs.setdefault(i, []).extend(fixed.notes)
            kinds.append(kind if not g.is_empty else "empty")
    return kinds


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
    new_rows = [[r[j] for j in keep] + [clean_value(p.get(k)) for k in extra] for r, p in zip(rows, from_desc)]
    return new_rows, [names[j] for j in keep] + extra


def check_geometry(kind: str, geom) -> str | None:
    """Why a feature's geometry cannot be stored, in Vietnamese with an English gloss, or None."""
    if isinstance(geom, str) and geom == BROKEN:
        if kind == "line":
            return "đường chỉ có một đỉnh hoặc hình học hỏng / single-vertex or broken line"
        return "hình học hỏng, không đọc được / broken geometry"
    if geom is None or geom.is_empty:
        return "không có hình học / no geometry"
    mixed = mixed_collection(geom)
    if mixed:
        return mixed
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
        # geometry.repair made every polygon it could valid: what is left has nothing polygonal.
        gone = "; sửa tự động không còn phần đa giác nào / nothing polygonal is left after repair"
        if "Self-intersection" in reason or "Ring Self-intersection" in reason:
            return f"đa giác tự cắt{at}{gone} (self-intersecting polygon: {reason})"
        return f"đa giác không hợp lệ{at}{gone} (invalid polygon: {reason})"
    from ..geo.parse import OutsideVietnamError, check_in_vietnam, is_in_vietnam

    xy = shapely.get_coordinates(geom)
    inside = is_in_vietnam(xy[:, 1], xy[:, 0])
    if not np.all(inside):
        k = int(np.argmin(inside))
        try:
            check_in_vietnam(float(xy[k, 1]), float(xy[k, 0]))
        except OutsideVietnamError as exc:
            return f"tọa độ ngoài lãnh thổ Việt Nam: {exc}"
    return None


def check_geometries(kind: str, geoms: list) -> list[str | None]:
    """check_geometry of each geometry: the tests that pass for almost every feature (one part,
    valid, two distinct vertices, inside Vietnam's box) run over the whole array, and
    check_geometry itself words the problem of the few that fail one."""
    out: list[str | None] = [None] * len(geoms)
    arr = np.array(geoms, dtype=object)
    real = np.array([g is not None and not isinstance(g, str) for g in geoms], dtype=bool)
    suspect = ~real
    if real.any():
        part = arr[real]
        types = shapely.get_type_id(part)
        odd = shapely.is_empty(part) | (types == 7) | (shapely.get_num_geometries(part) > 1) & np.isin(types, (4, 5, 6))
        if kind == "line":
            # Fewer than two distinct vertices: no length (suspected generously, checked below).
            first = shapely.get_geometry(part, 0)
            odd |= (shapely.get_num_coordinates(first) < 2) | ~(shapely.length(first) > 1e-9)
        if kind == "polygon":
            odd |= ~shapely.is_valid(part)
        from ..geo.parse import is_in_vietnam

        xy, owner = shapely.get_coordinates(part, return_index=True)
        outside = np.zeros(len(part), dtype=bool)
        outside[owner[~is_in_vietnam(xy[:, 1], xy[:, 0])]] = True
        suspect[real] = odd | outside
    for i in np.flatnonzero(suspect).tolist():
        out[i] = check_geometry(kind, geoms[i])
    return out


def single(geom):
    """A one-part multi-geometry as its part, 2D."""
    geom = shapely.force_2d(geom)
    if geom.geom_type.startswith("Multi") and shapely.get_num_geometries(geom) == 1:
        return geom.geoms[0]
    return geom
