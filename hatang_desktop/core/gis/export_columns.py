"""The GIS export's layers read column by column, ready for GDAL's Arrow interface.

The hot path of `hatang export OUT.gpkg|.geojson` on national data (1.4 M features): one query
per layer through the driver's cursor (exchange/export_rows.read_columns, as the Excel export
reads), each column converted once: a coded value's label is looked up per distinct code and
spread over the rows with an Arrow take, geometries are built by shapely's vectorised
constructors. The attributes are what the careful path (export.build_tables: a RecordState per
record, `display_value` per cell, a pandas frame) writes, type for type; tests compare the two.

Types follow what that frame gave GDAL, column by column: text, integers (Integer64) when every
value is an integer, reals when there are reals or empty integers, text for a column with no value
at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from .. import schema
from ..exchange.export_rows import read_columns
from ..exchange.layout import SheetSpec, commune_label, operator_label
from ..forms import TECH_COLUMNS, Forms
from .layers import BOUNDARY_ATTRS, BOUNDARY_SYNTHETIC_ATTR, GEOMETRY, layer_columns

YES, NO = schema.yes_no(True), schema.yes_no(False)
LEVEL_VI = {"province": "Tỉnh/thành phố", "commune": "Xã/phường", "village": "Thôn/tổ dân phố"}


@dataclass
class Layer:
    """One layer for GDAL: attribute columns in order and WKB geometries (None: no geometry)."""
    record: str
    title: str                          # Vietnamese title (GeoPackage identifier)
    columns: dict[str, pa.Array]
    geometry: np.ndarray | None         # WKB per feature (object array), None for a table

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def arrow(self) -> pa.Table:
        arrays = list(self.columns.values())
        names = list(self.columns)
        if self.geometry is not None:
            arrays.append(pa.array(self.geometry, pa.binary()))
            names.append("geom")
        return pa.Table.from_arrays(arrays, names=names)


# -- columns ---------------------------------------------------------------------------------

def mapped(values: pa.Array, label) -> pa.Array:
    """`label` of each value, called once per distinct value and spread over the rows with a
    take (nulls stay null): a code's label costs one call, not one per record."""
    if values.null_count == len(values):
        return _strings([None] * len(values))
    encoded = values.dictionary_encode()
    labels = pa.array([label(v) for v in encoded.dictionary.to_pylist()], pa.string())
    return labels.take(encoded.indices)


def _strings(values) -> pa.Array:
    return pa.array(values, pa.string())


def _float15(values: np.ndarray) -> np.ndarray:
    """layout.excel_float (15 significant digits) over an array: formatted per distinct value."""
    distinct, where = np.unique(values, return_inverse=True)
    return np.array([float(f"{v:.15g}") for v in distinct.tolist()], dtype=float)[where.reshape(-1)]


def inferred(values) -> pa.Array:
    """Plain values (numbers, text) typed as the careful path's pandas frame typed them."""
    types = set(map(type, values))
    empty = type(None) in types
    types.discard(type(None))
    if not types or types == {str}:
        return _strings(values)
    if types <= {int, float}:
        if types == {int} and not empty:
            return pa.array(values, pa.int64())
        numbers = np.array(values, dtype=float)   # None -> NaN, written as NULL as pandas' NaN was
        if float in types:
            numbers = _float15(numbers)
        return pa.array(numbers, pa.float64(), mask=np.isnan(numbers))
    # Mixed kinds in one column (a hand-edited database): as text, as GDAL took the frame's objects.
    return _strings([None if v is None else str(v) for v in values])


def _technologies(by_name: dict[str, tuple]) -> pa.Array:
    """"2G/4G" from the flag columns: each row's flags as one number, a label per combination."""
    techs = list(TECH_COLUMNS)
    code = np.zeros(len(by_name["uuid"]), dtype=np.int64)
    for bit, tech in enumerate(techs):
        code |= np.array([1 if v else 0 for v in by_name[TECH_COLUMNS[tech]]], dtype=np.int64) << bit
    return mapped(pa.array(code), lambda c: "/".join(t for bit, t in enumerate(techs) if c >> bit & 1))


def _date_text(v) -> str | None:
    if v is None:
        return None
    return (dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v).isoformat()


def _updated_text(v) -> str | None:
    """A stored update time as the careful path writes it: ISO to the second, a space between."""
    if isinstance(v, str):
        if len(v) in (19, 26) and v[10] == " " and v[4] == "-" and v[13] == ":":
            return v[:19]  # what the database writes: "YYYY-MM-DD HH:MM:SS[.ffffff]"
        try:
            v = dt.datetime.fromisoformat(v)
        except ValueError:
            return None
    if isinstance(v, dt.datetime):
        return v.replace(microsecond=0).isoformat(sep=" ")
    return None


def field_column(c, by_name: dict[str, tuple], forms: Forms, communes: dict[str, str]) -> pa.Array:
    """A form field's column as `layout.display_value` shows it, typed as the frame typed it."""
    f = c.field
    if f.type == "technologies":
        return _technologies(by_name)
    values = by_name[f.key]
    if f.type in ("choice", "operator", "commune", "boolean", "date"):
        if f.type == "boolean":
            label = lambda v: YES if v else NO  # noqa: E731
        elif f.type == "choice":
            label = forms.lists[f.values].label
        elif f.type == "operator":
            label = operator_label
        elif f.type == "commune":
            label = lambda v: commune_label(v, communes)  # noqa: E731
        else:
            label = _date_text
        try:
            return mapped(pa.array(values), label)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # codes of mixed kinds: one at a time
            return _strings([None if v is None else label(v) for v in values])
    return inferred(values)


def record_layer(conn, spec: SheetSpec, forms: Forms, communes: dict[str, str], commune: str | None
                 ) -> tuple[Layer, dict[str, tuple]]:
    """The layer of a record type (live records, in the scope) and the columns it was read from."""
    by_name = read_columns(conn, spec.form, commune, live_only=True, excel_times=False)
    columns: dict[str, pa.Array] = {}
    for lc in layer_columns(spec):
        c = lc.spec
        if c.kind == "field":
            columns[lc.name] = field_column(c, by_name, forms, communes)
        elif c.kind == "parent_code":
            columns[lc.name] = inferred(by_name["parent_code"])
        elif c.key == "updated_at":
            columns[lc.name] = _strings([_updated_text(v) for v in by_name["updated_at"]])
        else:
            columns[lc.name] = inferred(by_name[c.key])
    return Layer(spec.record, spec.title("vi"), columns, _geometry(spec.record, by_name)), by_name


def _geometry(record: str, by_name: dict[str, tuple]) -> np.ndarray | None:
    kind = GEOMETRY[record]
    if kind is None:
        return None
    if kind == "Point":
        geoms = shapely.points(np.array(by_name["lon"], dtype=float), np.array(by_name["lat"], dtype=float))
    else:
        # The stored WKB, not the workbook's 7-decimal WKT: a GIS file keeps full precision.
        geoms = shapely.from_wkb(np.array(by_name["geom"], dtype=object))
    return shapely.to_wkb(geoms)


def summary_by_parent(parents: tuple, children: dict[str, tuple], key: str, parts: list[pa.Array]
                      ) -> pa.Array:
    """Per parent (in `parents`' order), its children's `parts` joined into one text per child
    and "; " between children, in the children's order; null for a parent without any."""
    if not len(children["uuid"]):
        return _strings([None] * len(parents))
    each = pc.binary_join_element_wise(*parts, "")
    table = pa.table({"parent": pa.array(children[key], pa.string()), "text": each,
                      "order": pa.array(np.arange(len(each)))})
    grouped = table.group_by("parent", use_threads=False).aggregate([("text", "list"), ("order", "min")])
    grouped = grouped.sort_by("order_min")
    joined = pc.binary_join(grouped["text_list"], "; ")
    where = pc.index_in(pa.array(parents, pa.string()), value_set=grouped["parent"])
    return pc.take(joined, where)


def _brands(children: dict[str, tuple]) -> pa.Array:
    # (An operator the database lacks reads "None", as the f-string of the careful path wrote.)
    return pc.fill_null(mapped(pa.array(children["operator_code"], pa.string()), operator_label), "None")


def tenant_summary(sites: dict[str, tuple], tenants: dict[str, tuple]) -> pa.Array:
    """"Viettel (code): 2G/4G; MobiFone: 4G" per site, as export._tenant_summary writes it."""
    brand = _brands(tenants)
    own = pa.array(tenants["tenant_site_code"], pa.string())
    code = pc.if_else(pc.fill_null(pc.not_equal(own, ""), False),
                      pc.binary_join_element_wise(" (", own, ")", ""), "")
    techs = _technologies(tenants)
    sep = pc.if_else(pc.equal(techs, ""), "", ": ")
    return summary_by_parent(sites["uuid"], tenants, "site_uuid", [brand, code, sep, techs])


def attachment_summary(poles: dict[str, tuple], attachments: dict[str, tuple], forms: Forms) -> pa.Array:
    """"VNPT: 2 cáp quang; Viettel: 1 cáp" per pole, as export._attachment_summary writes it."""
    cable = forms.lists["cable_types"]
    brand = _brands(attachments)
    count = pc.fill_null(mapped(pa.array(attachments["cable_count"]), lambda v: str(v or 0)), "0")
    kind = pc.fill_null(mapped(pa.array(attachments["cable_type"]), lambda v: cable.label(v).lower() if v else "cáp"),
                        "cáp")
    return summary_by_parent(poles["uuid"], attachments, "pole_uuid", [brand, pa.scalar(": "), count,
                                                                       pa.scalar(" "), kind])


def boundary_layer(conn, commune: str | None, title: str) -> Layer:
    sql = ("SELECT code, name, level, parent_code, uuid, boundary_synthetic, boundary FROM admin_units "
           "WHERE deleted = 0 AND boundary IS NOT NULL")
    params: tuple = ()
    if commune:
        sql += " AND code = ?"
        params = (commune,)
    rows = conn.execute(sql + " ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'commune' THEN 1 "
                              "ELSE 2 END, code", params).fetchall()
    code, name, level, parent, uuid, synthetic, boundary = list(zip(*rows)) or [()] * 7
    columns = {BOUNDARY_ATTRS[0]: inferred(code), BOUNDARY_ATTRS[1]: inferred(name),
               BOUNDARY_ATTRS[2]: mapped(pa.array(level, pa.string()), lambda v: LEVEL_VI.get(v, v)),
               BOUNDARY_ATTRS[3]: inferred(parent), BOUNDARY_ATTRS[4]: inferred(uuid),
               BOUNDARY_SYNTHETIC_ATTR: _strings([YES if v else NO for v in synthetic])}
    geoms = shapely.from_wkb(np.array(boundary, dtype=object))
    single = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    if single.any():
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(int(single.sum())))
    return Layer("admin_boundaries", title, columns, shapely.to_wkb(geoms))
