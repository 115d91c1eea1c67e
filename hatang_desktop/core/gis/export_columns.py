"""The GIS export's layers read column by column, ready for GDAL's Arrow interface.

The hot path of `hatang export OUT.gpkg|.geojson` on national data (1.4 M features): one query
per layer through the driver's cursor (exchange/export_rows.read_columns, as the Excel export
reads), each column converted once: a coded value's label is looked up per distinct code and
spread over the rows with an Arrow take, geometries are built by shapely's vectorised
constructors. The attributes are what the careful path (export.build_tables: a RecordState per
record, `display_value` per cell, a pandas frame) writes, type for type; tests compare the two.

Types are the form's (layers.declared_kind): a decimal field is a real column and an integer one an
Integer64 column in every export, whatever values this one holds; only a column holding text where
a number is declared (a hand-edited database) stays text, so that no value is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from sqlalchemy import text

from .. import schema
from ..cancel import Cancel, checkpoint
from ..errors import InvalidInputError
from ..exchange.export import _mark as change_mark, province_communes
from ..exchange.export_parallel import ForkedJob, WorkerFailed, fork_allowed
from ..exchange.export_rows import read_columns
from . import layer_transfer
from .export_gdal import gdal_columns
from ..exchange.layout import SheetSpec, commune_label, operator_label, workbook_layout
from ..forms import TECH_COLUMNS, Forms, load_forms
from ..storage.database import Database
from ..storage.dialect import SQLITE, raw
from .layers import (ATTACHMENTS_ATTR, BOUNDARY_ATTRS, BOUNDARY_SYNTHETIC_ATTR, GEOMETRY, LAYER_ORDER,
                     TENANTS_ATTR, declared_kind, layer_columns, layer_title)

log = logging.getLogger(__name__)
Progress = Callable[[str, float], None]

YES, NO = schema.yes_no(True), schema.yes_no(False)
LEVEL_VI = {"province": "Tỉnh/thành phố", "commune": "Xã/phường", "village": "Thôn/tổ dân phố"}


@dataclass
class Layer:
    """One layer for GDAL: attribute columns in order and WKB geometries (None: no geometry)."""
    record: str
    title: str                          # Vietnamese title (GeoPackage identifier)
    columns: dict[str, pa.Array]
    geometry: pa.Array | None           # WKB per feature, None for a table

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def arrow(self) -> pa.Table:
        arrays = list(self.columns.values())
        names = list(self.columns)
        if self.geometry is not None:
            arrays.append(self.geometry)
            names.append("geom")
        return pa.Table.from_arrays(arrays, names=names)


@dataclass(frozen=True)
class Gdal:
    """Read through GDAL (export_gdal) from this database file, as it is at this change mark."""
    path: Path
    mark: int


def _columns(conn, form, commune: str | None, gdal: Gdal | None, **options) -> dict:
    """A record type's live rows as columns: Arrow arrays from GDAL where it can give them,
    else tuples through the driver's cursor."""
    if gdal is not None:
        got = gdal_columns(conn, gdal.path, form, commune, gdal.mark, **options)
        if got is not None:
            return got
    return read_columns(conn, form, commune, live_only=True, excel_times=False, **options)


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


def arrow(values, kind: pa.DataType | None = None) -> pa.Array:
    """A column as read (a tuple from sqlite3, an Arrow array from GDAL) as an Arrow array."""
    if isinstance(values, pa.Array):
        return values if kind is None or values.type == kind else values.cast(kind)
    return pa.array(values, kind)


def _float15(values: np.ndarray) -> np.ndarray:
    """layout.excel_float (15 significant digits) over an array: formatted per distinct value."""
    distinct, where = np.unique(values, return_inverse=True)
    return np.array([float(f"{v:.15g}") for v in distinct.tolist()], dtype=float)[where.reshape(-1)]


def inferred(values) -> pa.Array:
    """Plain values (numbers, text) typed as the careful path's pandas frame typed them."""
    if isinstance(values, pa.Array):
        return _inferred_arrow(values)
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


def _inferred_arrow(values: pa.Array) -> pa.Array:
    """`inferred` of a column GDAL read, each value stored as its type (export_gdal)."""
    kind = values.type
    if values.null_count == len(values) or pa.types.is_string(kind):
        return arrow(values, pa.string())
    if pa.types.is_integer(kind) and not values.null_count:
        return arrow(values, pa.int64())
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False)   # nulls -> NaN
        if pa.types.is_floating(kind):
            numbers = _float15(numbers)
        return pa.array(numbers, pa.float64(), mask=np.isnan(numbers))
    return inferred(values.to_pylist())


def declared(values, kind: str) -> pa.Array:
    """A plain column (as read) typed as its layer declares it (layers.declared_kind). Text
    where a number is declared, or a real where an integer is, is kept as it is: the value
    matters more than the column's type."""
    if kind == "integer":
        whole = _integers(values)
        return whole if whole is not None else inferred(values)
    column = inferred(values)
    if column.null_count == len(column):
        return pa.nulls(len(column), pa.float64() if kind == "real" else pa.string())
    if kind == "real" and pa.types.is_integer(column.type):
        return column.cast(pa.float64())
    if kind == "text" and not pa.types.is_string(column.type):   # a number where text is declared
        raw = values.to_pylist() if isinstance(values, pa.Array) else values
        return _strings([None if v is None else str(v) for v in raw])
    return column


def _integers(values) -> pa.Array | None:
    """The column as Integer64 when every value is a whole number (11.0 is 11), else None."""
    try:
        column = values if isinstance(values, pa.Array) else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):       # text among the numbers
        return None
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), pa.int64())
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return None
    try:
        return column.cast(pa.int64())                 # safe: 2.5 or NaN refuses
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _flags(values) -> np.ndarray:
    """1 where a flag column's value is true (not 0, not null), else 0."""
    if isinstance(values, pa.Array):
        return pc.fill_null(pc.not_equal(values, 0), False).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.array([1 if v else 0 for v in values], dtype=np.int64)


def _technologies(by_name: dict[str, tuple]) -> pa.Array:
    """"2G/4G" from the flag columns: each row's flags as one number, a label per combination."""
    techs = list(TECH_COLUMNS)
    code = np.zeros(len(by_name[TECH_COLUMNS[techs[0]]]), dtype=np.int64)
    for bit, tech in enumerate(techs):
        code |= _flags(by_name[TECH_COLUMNS[tech]]) << bit
    return mapped(pa.array(code), lambda c: "/".join(t for bit, t in enumerate(techs) if c >> bit & 1))


def _date_text(v) -> str | None:
    if v is None:
        return None
    return (dt.date.fromisoformat(v[:10]) if isinstance(v, str) else v).isoformat()


# What the database writes (SQLAlchemy's DateTime on SQLite): "YYYY-MM-DD HH:MM:SS[.ffffff]".
USUAL_TIME = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{6})?$"


def _updated_column(values: tuple) -> pa.Array:
    """Update times as the careful path writes them (`_updated_text`): the usual stored text cut
    to the second in one Arrow pass, anything else (a "T", a time zone, a date alone) one by one."""
    try:
        texts = arrow(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # datetime objects (PostgreSQL)
        return _strings([_updated_text(v) for v in values])
    usual = pc.fill_null(pc.match_substring_regex(texts, USUAL_TIME), True)
    cut = pc.utf8_slice_codeunits(texts, 0, 19)
    odd = np.flatnonzero(~usual.to_numpy(zero_copy_only=False))
    if not len(odd):
        return cut
    out = cut.to_pylist()
    stored = texts.to_pylist()
    for i in odd.tolist():
        out[i] = _updated_text(stored[i])
    return _strings(out)


def _updated_text(v) -> str | None:
    """A stored update time as the careful path writes it: ISO to the second, a space between."""
    if isinstance(v, str):
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
            return mapped(arrow(values), label)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # codes of mixed kinds: one at a time
            return _strings([None if v is None else label(v) for v in values])
    return declared(values, declared_kind(c))


def record_layer(conn, spec: SheetSpec, forms: Forms, communes: dict[str, str], commune: str | None,
                 gdal: Gdal | None = None) -> tuple[Layer, dict[str, tuple]]:
    """The layer of a record type (live records, in the scope) and the columns it was read from
    (by GDAL where `gdal` is given and it can, export_gdal)."""
    by_name = _columns(conn, spec.form, commune, gdal)
    columns: dict[str, pa.Array] = {}
    for lc in layer_columns(spec):
        c = lc.spec
        if c.kind == "field":
            columns[lc.name] = field_column(c, by_name, forms, communes)
        elif c.kind == "parent_code":
            columns[lc.name] = declared(by_name["parent_code"], "text")
        elif c.key == "updated_at":
            columns[lc.name] = _updated_column(by_name["updated_at"])
        else:
            columns[lc.name] = declared(by_name[c.key], declared_kind(c))
    return Layer(spec.record, spec.title("vi"), columns, _geometry(spec.record, by_name)), by_name


POINT_WKB = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])  # 21 bytes, packed


def point_wkb(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """Points as little-endian WKB, the bytes shapely.to_wkb(shapely.points(x, y)) gives, laid
    out by numpy straight into an Arrow binary array (no geometry object per point)."""
    n = len(x)
    packed = np.empty(n, dtype=POINT_WKB)
    packed["order"], packed["kind"], packed["x"], packed["y"] = 1, 1, x, y
    offsets = np.arange(n + 1, dtype=np.int32) * POINT_WKB.itemsize
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(packed.tobytes())])


def _wkb(geoms: np.ndarray) -> pa.Array:
    return pa.array(shapely.to_wkb(geoms), pa.binary())


def _geometry(record: str, by_name: dict[str, tuple]) -> pa.Array | None:
    kind = GEOMETRY[record]
    if kind is None:
        return None
    if kind == "Point":
        return point_wkb(_floats(by_name["lon"]), _floats(by_name["lat"]))
    # The stored WKB, not the workbook's 7-decimal WKT: a GIS file keeps full precision.
    blobs = by_name["geom"]
    blobs = blobs.to_numpy(zero_copy_only=False) if isinstance(blobs, pa.Array) else np.array(blobs, dtype=object)
    return _wkb(shapely.from_wkb(blobs))


def _floats(values) -> np.ndarray:
    if isinstance(values, pa.Array):
        return values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.array(values, dtype=float)


def summary_by_parent(parents: pa.Array, keys: pa.Array, texts: pa.Array) -> pa.Array:
    """Per parent uuid (in `parents`' order), the `texts` of its children (whose parent is `keys`)
    joined by "; " in the children's order; null for a parent without any."""
    if not len(keys):
        return _strings([None] * len(parents))
    where = pc.fill_null(pc.index_in(keys, value_set=parents), -1).to_numpy()
    kept = np.flatnonzero(where >= 0)
    order = kept[np.argsort(where[kept], kind="stable")]      # by parent, children in their order
    counts = np.bincount(where[order], minlength=len(parents))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), texts.take(pa.array(order))), "; ")
    return pc.if_else(pa.array(counts > 0), joined, pa.scalar(None, pa.string()))


def _brands(children: dict[str, tuple]) -> pa.Array:
    # (An operator the database lacks reads "None", as the f-string of the careful path wrote.)
    return pc.fill_null(mapped(arrow(children["operator_code"], pa.string()), operator_label), "None")


def tenant_texts(tenants: dict[str, tuple]) -> pa.Array:
    """"Viettel (code): 2G/4G" per tenant, as export._tenant_summary writes each."""
    own = arrow(tenants["tenant_site_code"], pa.string())
    code = pc.if_else(pc.fill_null(pc.not_equal(own, ""), False),
                      pc.binary_join_element_wise(" (", own, ")", ""), "")
    techs = _technologies(tenants)
    sep = pc.if_else(pc.equal(techs, ""), "", ": ")
    return pc.binary_join_element_wise(_brands(tenants), code, sep, techs, "")


def attachment_texts(attachments: dict[str, tuple], forms: Forms) -> pa.Array:
    """"VNPT: 2 cáp quang" per cable, as export._attachment_summary writes each."""
    cable = forms.lists["cable_types"]
    count = pc.fill_null(mapped(arrow(attachments["cable_count"]), lambda v: str(v or 0)), "0")
    kind = pc.fill_null(mapped(arrow(attachments["cable_type"]), lambda v: cable.label(v).lower() if v else "cáp"),
                        "cáp")
    return pc.binary_join_element_wise(_brands(attachments), ": ", count, " ", kind, "")


@dataclass(frozen=True)
class Summary:
    """The attribute a parent's layer gets from its children: one text per child, joined."""
    child: str
    key: str                  # the child's column holding its parent's uuid
    attr: str
    texts: Callable           # (child columns, forms) -> text per child
    columns: tuple[str, ...]  # the child's columns the texts need


SUMMARIES = {"sites": Summary("site_tenants", "site_uuid", TENANTS_ATTR, lambda read, _forms: tenant_texts(read),
                              ("site_uuid", "operator_code", "tenant_site_code", *TECH_COLUMNS.values())),
             "poles": Summary("pole_attachments", "pole_uuid", ATTACHMENTS_ATTR, attachment_texts,
                              ("pole_uuid", "operator_code", "cable_count", "cable_type"))}


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
    return Layer("admin_boundaries", title, columns, _wkb(geoms))


# -- the layers -------------------------------------------------------------------------------

def resolve_commune(communes: dict[str, str], commune: str | None) -> str | None:
    if commune is None:
        return None
    code = commune.zfill(5) if commune.isdigit() else commune
    if code not in communes:
        raise InvalidInputError(f"không có xã/phường mã '{commune}' trong cơ sở dữ liệu này / "
                                f"no commune '{commune}' in this database")
    return code


# A national export's heaviest layers (poles, their cables: 1.1 M of 1.4 M rows), each read by a
# forked worker while this process reads and writes the others: Python's reading is the CPU work.
FORKED = ("poles", "pole_attachments")
FORK_MIN_ROWS = 200_000   # below it (a province: 34 k) the fork costs more than it saves
# Below it GDAL's reads save no CPU and each opens the file anew (~15 ms, 8 reads): sqlite3 reads.
GDAL_MIN_ROWS = 100_000


def _read(conn, records, specs: dict[str, SheetSpec], forms: Forms, communes: dict[str, str],
          commune: str | None, gdal: Gdal | None = None) -> dict[str, Layer]:
    """The layers of `records`, a parent's with its children's summary: from the child's layer
    read here too, else from the few child columns it needs."""
    layers: dict[str, Layer] = {}
    read: dict[str, dict[str, tuple]] = {}
    for record in records:
        if record == "admin_boundaries":
            layers[record] = boundary_layer(conn, commune, layer_title(record))
        else:
            layers[record], read[record] = record_layer(conn, specs[record], forms, communes, commune, gdal)
    for parent, summary in SUMMARIES.items():
        if parent not in read:
            continue
        # (Only the columns the texts need, without the join to the parent: a child of a
        # deleted parent has no parent among the live ones and is left out all the same.)
        child = read.get(summary.child) or _columns(conn, specs[summary.child].form, commune, gdal,
                                                    columns=list(summary.columns), bare=True)
        layers[parent].columns[summary.attr] = summary_by_parent(
            arrow(read[parent]["uuid"], pa.string()), arrow(child[summary.key], pa.string()),
            summary.texts(child, forms))
    return layers


def _forked_read(path: Path, record: str, specs, forms, communes, commune, mark: int, gdal: Gdal | None,
                 paired: bool) -> tuple[Layer, object] | None:
    """In a forked worker: the layer of `record` and, when its parent or child is read by
    another worker (`paired`), what the parent's summary needs from it (a parent: its uuids; a
    child: its parents' uuids and its texts) instead of reading the child's columns again; None
    when the database is not in the state the parent reads (a change in between)."""
    with Database.open(path, readonly=True) as wdb, wdb.session() as s:
        if change_mark(s) != mark:
            return None
        if not paired:
            return _read(raw(s), [record], specs, forms, communes, commune, gdal)[record], None
        layer, read = record_layer(raw(s), specs[record], forms, communes, commune, gdal)
        if record in SUMMARIES:
            return layer, arrow(read["uuid"], pa.string())
        summary = next(sm for sm in SUMMARIES.values() if sm.child == record)
        return layer, (arrow(read[summary.key], pa.string()), summary.texts(read, forms))


def _forked_shared(fd: int, read: Callable[[], tuple[Layer, object] | None]) -> tuple | None:
    """In a forked worker: `read()`'s layer and summary part into the shared file `fd`
    (layer_transfer), their names and shape as the result."""
    got = read()
    if got is None:
        return None
    layer, part = got
    parts = [] if part is None else [part] if isinstance(part, pa.Array) else list(part)
    geometry = [] if layer.geometry is None else [layer.geometry]
    layer_transfer.put(fd, [*layer.columns.values(), *geometry, *parts])
    return layer.record, layer.title, list(layer.columns), bool(geometry), len(parts)


def _unshared(fd: int, shape: tuple) -> tuple[Layer, object]:
    """The (layer, summary part) `_forked_shared` put in `fd`."""
    record, title, names, geometry, parts = shape
    arrays = layer_transfer.take(fd)
    n = len(names)
    layer = Layer(record, title, dict(zip(names, arrays[:n])), arrays[n] if geometry else None)
    part = arrays[n + geometry:]
    return layer, (None if not parts else part[0] if parts == 1 else tuple(part))


def _paired(records) -> set[str]:
    """The parents and children of SUMMARIES that are both among `records`."""
    return {r for parent, sm in SUMMARIES.items() if parent in records and sm.child in records
            for r in (parent, sm.child)}


@contextlib.contextmanager
def export_layers(db: Database, *, commune: str | None = None, forms: Forms | None = None,
                  progress: Progress | None = None, cancel: Cancel | None = None, parallel: bool | None = None,
                  gdal_reads: bool = True) -> Iterator[tuple[dict[str, str], Iterator[Layer]]]:
    """The database's meta values and its layers in LAYER_ORDER, each read column by column
    (one query per layer) when the writer asks for it: it writes one while the next is read. A
    large export outside the desktop app reads poles and cables in forked workers from the start
    (export_parallel; `parallel=False` never forks); the layers are the same. A SQLite
    database's rows are read by GDAL straight into Arrow where it gives the stored values
    (export_gdal; `gdal_reads=False`: always through sqlite3); the layers are the same."""
    report = progress or (lambda _s, _f: None)
    forms = forms or load_forms()
    jobs: dict[str, ForkedJob] = {}
    shared: dict[str, int] = {}
    with db.session() as s:
        communes = province_communes(s)
        commune = resolve_commune(communes, commune)
        meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
        meta["_commune"] = commune or ""
        specs = {spec.record: spec for spec in workbook_layout(forms, communes)}
        conn = raw(s)
        sqlite = getattr(db, "dialect", SQLITE) == SQLITE
        mark = change_mark(s) if sqlite else None
        rows = sum(conn.execute(f"SELECT count(*) FROM {r}").fetchone()[0] for r in FORKED) if sqlite else 0
        gdal = Gdal(Path(db.path), mark) if gdal_reads and rows >= GDAL_MIN_ROWS and getattr(db, "path", None) \
            else None
        if parallel is not False and fork_allowed() and sqlite:
            if rows >= FORK_MIN_ROWS:
                paired = _paired(FORKED)
                shared = {r: layer_transfer.shared_file() for r in FORKED}
                jobs = {r: ForkedJob(functools.partial(_forked_shared, shared[r], functools.partial(
                    _forked_read, db.path, r, specs, forms, communes, commune, mark, gdal, r in paired)))
                        for r in FORKED}
        results: dict[str, tuple | None] = {}

        def forked(record: str) -> tuple | None:
            if record not in results:
                try:
                    shape = jobs[record].result()
                except WorkerFailed as exc:
                    log.warning("GIS export worker not used: %s", exc)
                    shape = None
                fd = shared.pop(record)
                results[record] = None if shape is None else _unshared(fd, shape)
                if shape is None:
                    os.close(fd)
            return results[record]

        def forked_layer(record: str) -> Layer | None:
            got = forked(record)
            summary = SUMMARIES.get(record)
            if got is None or got[1] is None or summary is None:
                return got and got[0]
            # A parent read alone: its summary from its child's worker, when that one is back.
            child = forked(summary.child)
            if child is None:
                return None
            layer, uuids = got
            layer.columns[summary.attr] = summary_by_parent(uuids, *child[1])
            return layer

        def layers() -> Iterator[Layer]:
            ahead: dict[str, Layer] = {}
            for i, record in enumerate(LAYER_ORDER):
                checkpoint(cancel)
                report(f"đọc / reading {record}", i / len(LAYER_ORDER))
                layer = ahead.pop(record, None)
                if layer is None and record in jobs:
                    layer = forked_layer(record)
                if layer is None:
                    # A parent is read with its child when this process reads both (one read).
                    summary = SUMMARIES.get(record)
                    together = [record] + ([summary.child] if summary and summary.child not in jobs else [])
                    ahead |= _read(conn, together, specs, forms, communes, commune, gdal)
                    layer = ahead.pop(record)
                yield layer

        try:
            yield meta, layers()
        finally:
            for job in jobs.values():
                job.cancel()
            for fd in shared.values():
                os.close(fd)


def read_layers(db: Database, **options) -> tuple[list[Layer], dict[str, str]]:
    """Every layer of the export (`export_layers`, all read before the first is written)."""
    with export_layers(db, **options) as (meta, layers):
        return list(layers), meta
