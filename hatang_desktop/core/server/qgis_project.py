"""A QGIS project (.qgz) whose layers are the department server's PostGIS tables.

`hatang server qgis-project URL OUT.qgz` writes it: the six map layers, drawn as the app draws
them (core/map_style.py, operators' colours), named and labelled in Vietnamese from forms/
(core/schema.py), with the value lists as QGIS value maps so an analyst reads "Đang hoạt động"
where the table holds `operating`. Each layer reads the table's PostGIS column `shape` and only
the live rows (`deleted = 0`: tombstones stay in the table for sync).

The project holds no password: QGIS finds it in ~/.pgpass or pg_service.conf like psql does, so
the file can be handed around. The project CRS is EPSG:4326, the data's own: VN-2000 is not one
CRS but a 3-degree zone per province (its own central meridian and 7-parameter shift), a wrong
pick would move every point by tens of metres, and QGIS measures lengths and areas on the WGS 84
ellipsoid set here, so nothing is lost by staying geographic.
"""

from __future__ import annotations

import functools
import io
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from .. import map_style, schema
from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..forms import TECH_COLUMNS, load_forms
from ..operators import OPERATORS
from . import qgis_xml as qx

# Keys a connection may carry. No password: QGIS reads ~/.pgpass or pg_service.conf itself.
CONNINFO_KEYS = ("service", "dbname", "host", "port", "user")
SRID = 4326
SCHEMA = "public"
GEOMETRY_COLUMN = "shape"
QGIS_VERSION = "3.22.16-Białowieża"  # the oldest QGIS this project is checked against (Debian 12)
VIETNAM_EXTENT = (102.1, 8.2, 109.5, 23.4)


@dataclass(frozen=True)
class LayerSpec:
    table: str
    wkb: str          # the datasource's and `wkbType`'s geometry type
    geometry: str     # QGIS's `geometry` attribute: Point, Line, Polygon
    where: str = "deleted = 0"
    read_only: bool = False


# Bottom to top, as the app stacks them.
LAYERS = (
    # Villages have no boundary on the server (shape NULL); provinces and communes are outlines.
    LayerSpec("admin_units", "MultiPolygon", "Polygon", "deleted = 0 AND level IN ('province','commune')",
              read_only=True),
    LayerSpec("zones", "MultiPolygon", "Polygon"),
    LayerSpec("fibre_routes", "LineString", "Line"),
    LayerSpec("poles", "Point", "Point"),
    LayerSpec("sites", "Point", "Point"),
    LayerSpec("findings", "Point", "Point"),
)

# Columns the program keeps: shown, never typed in QGIS (the server's triggers keep them, or
# they are the sync identity that a hand edit would break).
_KEPT = {"id", "uuid", "version", "updated_at", "updated_by", "source", "deleted", "lat", "lon"}
# Geometry in its portable form and its box: the server derives them from `shape`.
_HIDDEN = {"geom", "boundary", "min_lon", "min_lat", "max_lon", "max_lat"}

_WGS84_WKT = (
    'GEOGCRS["WGS 84",ENSEMBLE["World Geodetic System 1984 ensemble",MEMBER["World Geodetic System 1984 '
    '(Transit)"],MEMBER["World Geodetic System 1984 (G730)"],MEMBER["World Geodetic System 1984 (G873)"],'
    'MEMBER["World Geodetic System 1984 (G1150)"],MEMBER["World Geodetic System 1984 (G1674)"],MEMBER["World '
    'Geodetic System 1984 (G1762)"],MEMBER["World Geodetic System 1984 (G2139)"],ELLIPSOID["WGS 84",6378137,'
    '298.257223563,LENGTHUNIT["metre",1]],ENSEMBLEACCURACY[2.0]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",'
    '0.0174532925199433]],CS[ellipsoidal,2],AXIS["geodetic latitude (Lat)",north,ORDER[1],ANGLEUNIT["degree",'
    '0.0174532925199433]],AXIS["geodetic longitude (Lon)",east,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],'
    'USAGE[SCOPE["Horizontal component of 3D system."],AREA["World."],BBOX[-90,-180,90,180]],ID["EPSG",4326]]'
)


# -- connection ------------------------------------------------------------------------------

class ServerUrlError(InvalidInputError):
    """Connection details the QGIS project cannot use (never echoes them: they may hold a password)."""


def _password_refused() -> ServerUrlError:
    return ServerUrlError(
        "địa chỉ máy chủ có mật khẩu: không ghi mật khẩu vào lệnh hay dự án; để nó trong ~/.pgpass hoặc "
        "pg_service.conf",
        "the server URL holds a password: passwords never go on the command line or into the project; "
        "keep it in ~/.pgpass or pg_service.conf")


def check_conninfo(conninfo: dict) -> dict[str, str]:
    if "password" in conninfo:
        raise _password_refused()
    unknown = sorted(set(conninfo) - set(CONNINFO_KEYS))
    if unknown:
        raise ServerUrlError(f"khóa kết nối không dùng được: {', '.join(unknown)}",
                             f"connection keys not taken: {', '.join(unknown)}")
    info = {k: str(v) for k, v in conninfo.items() if v not in (None, "")}
    if "port" in info and not info["port"].isdigit():
        raise ServerUrlError("cổng máy chủ không hợp lệ", "the server port is not a number")
    if not {"dbname", "service"} & set(info):
        raise ServerUrlError("thiếu tên cơ sở dữ liệu (…/TÊN) hoặc ?service=TÊN",
                             "no database name (…/NAME) nor ?service=NAME")
    return info


def _quote(value: str) -> str:
    """A value as QgsDataSourceUri writes one: in single quotes, backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def datasource(conninfo: dict, spec: LayerSpec) -> str:
    info = check_conninfo(conninfo)
    conn = " ".join(f"{k}={info[k] if k == 'port' else _quote(info[k])}" for k in CONNINFO_KEYS if k in info)
    return (f"{conn} key='id' estimatedmetadata=true srid={SRID} type={spec.wkb} checkPrimaryKeyUnicity='0' "
            f'table="{SCHEMA}"."{spec.table}" ({GEOMETRY_COLUMN}) sql={spec.where}')


# -- what each layer holds ---------------------------------------------------------------------

@functools.cache
def table_columns() -> dict[str, tuple[str, ...]]:
    """Each map table's columns, in order, as the schema migrations make them (the server's
    tables have the same, plus `shape`)."""
    from ..storage.migrations import migrate

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        return {s.table: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({s.table})"))
                for s in LAYERS}
    finally:
        conn.close()


def layer_name(table: str, lang: str = "vi") -> str:
    return schema.record_label(table, lang, plural=True)


def layer_id(table: str) -> str:
    return f"hatang_{table}"


def alias(table: str, column: str, lang: str = "vi") -> str | None:
    """The column's label from forms/ (with its unit), None for a column no form names."""
    if schema.field(table, column) is None and column not in TECH_COLUMNS.values():
        return None
    return schema.field_label(table, column, lang)


def value_map(table: str, column: str, lang: str = "vi") -> list[tuple[str, str]] | None:
    """(stored value, label) for a column whose values have words: a value list, yes/no (stored
    1/0), an operator (its brand). None for the others."""
    d = schema.field(table, column)
    if d is None:
        return None
    lists = load_forms().lists
    if d.type == "choice":
        return [(c, lists[d.values].label(c, lang)) for c in lists[d.values].codes]
    if d.type == "boolean":
        return [("1", schema.yes_no(True, lang)), ("0", schema.yes_no(False, lang))]
    if d.type == "operator":
        return [(op.code, op.brand) for op in OPERATORS]
    return None


def _read_only_column(table: str, column: str) -> bool:
    d = schema.field(table, column)
    form = schema.form(table)
    derived = form is not None and any(x.key == column for x in form.derived)
    return column in _KEPT or column in _HIDDEN or derived or (d is not None and d.readonly)


# -- how each layer looks ----------------------------------------------------------------------

def _tower_shape_expression() -> str:
    # QGIS expressions know only the searched CASE (CASE WHEN condition), not CASE value WHEN.
    whens = " ".join(f"WHEN \"tower_type\" = '{t}' THEN '{qx.MARKER_SHAPES[s]}'"
                     for t, s in map_style.TOWER_SYMBOLS.items() if t)
    return f"CASE {whens} ELSE '{qx.MARKER_SHAPES[map_style.TOWER_SYMBOLS['']]}' END"


def _route_line_expression() -> str:
    whens = " ".join(f"WHEN \"method\" = '{m}' THEN '{style}'" for m, (style, _) in map_style.ROUTE_LINES.items())
    return f"CASE {whens} ELSE 'solid' END"


def _by_operator(layer: Element, draw) -> None:
    r, symbols = qx.renderer(layer, "categorizedSymbol", attr="operator_code")
    for i, op in enumerate(OPERATORS):
        qx.category(r, op.code, op.brand, str(i))
        draw(symbols, str(i), op.colour)
    qx.finish_renderer(r)


def _style_sites(layer: Element, lang: str) -> None:
    size = float(qx.mm(map_style.SITE_SIZE))
    shape = {"name": _tower_shape_expression()}
    _by_operator(layer, lambda symbols, name, colour: qx.marker(
        symbols, name, colour=colour, size_mm=size, outline="#ffffff", outline_mm=0.2, expressions=shape))


def _style_routes(layer: Element, lang: str) -> None:
    width = float(qx.mm(max(w for _, w in map_style.ROUTE_LINES.values())))
    dashes = {"outlineStyle": _route_line_expression()}  # QgsSymbolLayer::PropertyStrokeStyle
    _by_operator(layer, lambda symbols, name, colour: qx.line(
        symbols, name, colour=colour, width_mm=width, expressions=dashes))


def _style_poles(layer: Element, lang: str) -> None:
    r, symbols = qx.renderer(layer, "singleSymbol")
    qx.marker(symbols, "0", colour=map_style.POLE_COLOUR, size_mm=1.2, outline="#ffffff", outline_mm=0.1)
    qx.finish_renderer(r)


def _style_findings(layer: Element, lang: str) -> None:
    # Red triangles, bigger and bolder as the finding weighs more.
    looks = {"info": ("80", 2.4), "warning": ("ff", 3.2), "violation": ("ff", 4.2)}
    severities = load_forms().lists["severities"]
    r, symbols = qx.renderer(layer, "categorizedSymbol", attr="severity")
    for i, code in enumerate(severities.codes):
        alpha, size = looks.get(code, ("ff", 3.2))
        qx.category(r, code, severities.label(code, lang), str(i))
        qx.marker(symbols, str(i), colour=map_style.FINDING_COLOUR + alpha, size_mm=size, shape="triangle",
                  outline="#5a0000", outline_mm=0.3 if code == "violation" else 0.15)
    qx.finish_renderer(r)


def _style_zones(layer: Element, lang: str) -> None:
    kinds = load_forms().lists["zone_kinds"]
    r, symbols = qx.renderer(layer, "categorizedSymbol", attr="kind")
    for i, code in enumerate(kinds.codes):
        outline, colour = map_style.ZONE_COLOURS.get(code, map_style.ZONE_FALLBACK)
        qx.category(r, code, kinds.label(code, lang), str(i))
        qx.fill(symbols, str(i), colour=colour, outline=outline, outline_mm=float(qx.mm(1.4)),
                pattern="b_diagonal" if code in map_style.HATCHED_ZONES else "solid")
    qx.finish_renderer(r)


def _style_admin_units(layer: Element, lang: str) -> None:
    levels = load_forms().lists["admin_levels"]
    pens = {"commune": map_style.COMMUNE_PEN, "province": map_style.PROVINCE_PEN}
    r, symbols = qx.renderer(layer, "categorizedSymbol", attr="level")
    for i, code in enumerate(("commune", "province")):  # communes first: the province's line on top
        colour, width = pens[code]
        qx.category(r, code, levels.label(code, lang), str(i))
        qx.fill(symbols, str(i), colour=None, outline=colour, outline_mm=float(qx.mm(width)))
    qx.finish_renderer(r)


_STYLES = {"sites": _style_sites, "fibre_routes": _style_routes, "poles": _style_poles,
           "findings": _style_findings, "zones": _style_zones, "admin_units": _style_admin_units}


# -- the project -------------------------------------------------------------------------------

def _srs(parent: Element) -> None:
    s = SubElement(parent, "spatialrefsys")
    for tag, text in (("wkt", _WGS84_WKT), ("proj4", "+proj=longlat +datum=WGS84 +no_defs"), ("srsid", "3452"),
                      ("srid", "4326"), ("authid", "EPSG:4326"), ("description", "WGS 84"),
                      ("projectionacronym", "longlat"), ("ellipsoidacronym", "EPSG:7030"),
                      ("geographicflag", "true")):
        SubElement(s, tag).text = text


def _fields(layer: Element, spec: LayerSpec, conninfo: dict, lang: str) -> None:
    columns = table_columns()[spec.table]
    admin = LAYERS[0]
    config = SubElement(layer, "fieldConfiguration")
    for column in columns:
        f = SubElement(config, "field", name=column, configurationFlags="None")
        pairs = value_map(spec.table, column, lang)
        d = schema.field(spec.table, column)
        if column in _HIDDEN:
            qx.edit_widget(f, "Hidden", None)
        elif pairs is not None:
            qx.edit_widget(f, "ValueMap", qx.value_map_config(pairs))
        elif d is not None and d.type == "commune":
            # The commune's name for its code, from the admin units layer of this same project.
            qx.edit_widget(f, "ValueRelation", {
                "AllowMulti": False, "AllowNull": True, "FilterExpression": "\"level\" = 'commune'",
                "Key": "code", "Layer": layer_id(admin.table), "LayerName": layer_name(admin.table, lang),
                "LayerProviderName": "postgres", "LayerSource": datasource(conninfo, admin),
                "NofColumns": 1, "OrderByValue": True, "UseCompleter": False, "Value": "name"})
        else:
            qx.edit_widget(f, "", None)
    aliases = SubElement(layer, "aliases")
    for i, column in enumerate(columns):
        SubElement(aliases, "alias", field=column, index=str(i), name=alias(spec.table, column, lang) or "")
    editable = SubElement(layer, "editable")
    for column in columns:
        ok = not (spec.read_only or _read_only_column(spec.table, column))
        SubElement(editable, "field", name=column, editable="1" if ok else "0")


def _map_layer(parent: Element, spec: LayerSpec, conninfo: dict, lang: str) -> None:
    layer = SubElement(parent, "maplayer", {
        "type": "vector", "geometry": spec.geometry, "wkbType": spec.wkb, "readOnly": "1" if spec.read_only else "0",
        "styleCategories": "AllStyleCategories", "hasScaleBasedVisibilityFlag": "0", "minScale": "100000000",
        "maxScale": "0", "labelsEnabled": "0", "simplifyDrawingHints": "1", "simplifyLocal": "1",
        "simplifyDrawingTol": "1", "simplifyAlgorithm": "0", "simplifyMaxScale": "1",
        "symbologyReferenceScale": "-1", "autoRefreshEnabled": "0", "autoRefreshTime": "0",
        "refreshOnNotifyEnabled": "0", "refreshOnNotifyMessage": "", "legendPlaceholderImage": ""})
    SubElement(layer, "id").text = layer_id(spec.table)
    SubElement(layer, "datasource").text = datasource(conninfo, spec)
    SubElement(layer, "layername").text = layer_name(spec.table, lang)
    _srs(SubElement(layer, "srs"))
    SubElement(layer, "provider", encoding="").text = "postgres"
    manager = SubElement(layer, "map-layer-style-manager", current="default")
    SubElement(manager, "map-layer-style", name="default")
    flags = SubElement(layer, "flags")
    for tag, value in (("Identifiable", "1"), ("Removable", "1"), ("Searchable", "1"), ("Private", "0")):
        SubElement(flags, tag).text = value
    _STYLES[spec.table](layer, lang)
    SubElement(layer, "blendMode").text = "0"
    SubElement(layer, "featureBlendMode").text = "0"
    SubElement(layer, "layerOpacity").text = "1"
    SubElement(layer, "legend", type="default-vector", showLabelLegend="0")
    _fields(layer, spec, conninfo, lang)
    SubElement(layer, "editorlayout").text = "generatedlayout"
    SubElement(layer, "previewExpression").text = " || ' ' || ".join(
        f'"{k}"' for k in (schema.form(spec.table).title or ("id",)))


def project_title(lang: str = "vi", province_name: str | None = None) -> str:
    base = "Hạ tầng viễn thông" if lang == "vi" else "Telecom infrastructure"
    return f"{base} - {province_name}" if province_name else base


def project_xml(conninfo: dict, *, lang: str = "vi", province_name: str | None = None) -> bytes:
    """The .qgs document (UTF-8 bytes) for the server `conninfo` reaches."""
    conninfo = check_conninfo(conninfo)
    title = project_title(lang, province_name)
    root = Element("qgis", projectname=title, version=QGIS_VERSION)
    SubElement(root, "homePath", path="")
    SubElement(root, "title").text = title
    SubElement(root, "autotransaction", active="0")
    SubElement(root, "evaluateDefaultValues", active="0")
    SubElement(root, "trust", active="0")
    _srs(SubElement(root, "projectCrs"))

    tree = SubElement(root, "layer-tree-group")
    qx.option(SubElement(tree, "customproperties"))
    for spec in reversed(LAYERS):  # the tree lists the top layer first
        node = SubElement(tree, "layer-tree-layer", {
            "id": layer_id(spec.table), "name": layer_name(spec.table, lang), "providerKey": "postgres",
            "source": datasource(conninfo, spec), "checked": "Qt::Checked", "expanded": "1",
            "legend_exp": "", "legend_split_behavior": "0", "patch_size": "-1,-1"})
        qx.option(SubElement(node, "customproperties"))
    SubElement(tree, "custom-order", enabled="0")

    canvas = SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    SubElement(canvas, "units").text = "degrees"
    extent = SubElement(canvas, "extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), VIETNAM_EXTENT):
        SubElement(extent, tag).text = str(value)
    SubElement(canvas, "rotation").text = "0"
    _srs(SubElement(canvas, "destinationsrs"))

    layers = SubElement(root, "projectlayers")
    for spec in LAYERS:
        _map_layer(layers, spec, conninfo, lang)
    order = SubElement(root, "layerorder")
    for spec in reversed(LAYERS):
        SubElement(order, "layer", id=layer_id(spec.table))

    props = SubElement(root, "properties")
    for group, key, kind, value in (("Measure", "Ellipsoid", "QString", "EPSG:7030"),
                                    ("Measurement", "DistanceUnits", "QString", "meters"),
                                    ("Measurement", "AreaUnits", "QString", "m2"),
                                    ("Paths", "Absolute", "bool", "false"),
                                    ("SpatialRefSys", "ProjectionsEnabled", "int", "1")):
        g = props.find(group)
        if g is None:
            g = SubElement(props, group)
        SubElement(g, key, type=kind).text = value
    indent(root, space="  ")
    return (b"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            + tostring(root, encoding="utf-8", xml_declaration=False) + b"\n")


def write_qgis_project(conninfo: dict, out: Path, *, lang: str = "vi", province_name: str | None = None) -> list[str]:
    """Write the project: `out` ending .qgz is the zip QGIS saves by default (one .qgs named after
    it inside), .qgs the bare XML. Whole or not at all (core/atomic.py). Returns the layers' names,
    top first, as the QGIS layer panel lists them."""
    out = Path(out)
    if out.suffix.lower() not in (".qgz", ".qgs"):
        raise InvalidInputError(f"{out}: dự án QGIS phải là tệp .qgz hoặc .qgs",
                                f"{out}: a QGIS project is a .qgz or .qgs file")
    if not out.parent.is_dir():
        raise InvalidInputError(f"{out}: thư mục không tồn tại", f"{out}: the folder does not exist")
    document = project_xml(conninfo, lang=lang, province_name=province_name)
    with atomic_output(out) as tmp:
        if out.suffix.lower() == ".qgs":
            tmp.write_bytes(document)
        else:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr(out.with_suffix(".qgs").name, document)
            tmp.write_bytes(buffer.getvalue())
    return [layer_name(spec.table, lang) for spec in reversed(LAYERS)]
