"""Export a database (or one commune) to GeoPackage, GeoJSON, KML or OpenCelliD CSV.

GDAL writes every file (pyogrio); this module builds the tables. Only live records are written,
all in WGS84 (EPSG:4326). Attribute values are what the workbook shows (Vietnamese labels,
"Có"/"Không", operator brands), so the same import that reads a workbook reads them back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy import text

from .. import schema
from ..atomic import atomic_output, atomic_outputs
from ..errors import InvalidInputError
from ..cancel import Cancel, checkpoint
from ..exchange.export import province_communes
from ..exchange.layout import SheetSpec, display_value, operator_label, workbook_layout
from ..exchange.records import RecordState, read_states
from ..perf import gc_paused
from ..forms import Forms, load_forms
from ..operators import OPERATORS
from ..storage.database import Database
from . import opencellid
from .export_columns import Layer, export_layers, resolve_commune
from .layers import (ATTACHMENTS_ATTR, BOUNDARY_ATTRS, BOUNDARY_SYNTHETIC_ATTR, GEOMETRY, LAYER_ORDER,
                     TENANTS_ATTR, layer_columns, layer_title)

Progress = Callable[[str, float], None]
WGS84 = "EPSG:4326"
# GeoPackage 1.4 (pyogrio's default) is only partly read by GDAL 3.6 and older QGIS.
GPKG_OPTIONS = {"VERSION": "1.3"}
LEVEL_VI = {"province": "Tỉnh/thành phố", "commune": "Xã/phường", "village": "Thôn/tổ dân phố"}


@dataclass
class GisExportResult:
    paths: list[Path]
    counts: dict[str, int]                    # layer name -> features
    format: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Table:
    """One layer ready for GDAL: attribute columns in order, geometries (or None)."""
    record: str
    name: str                  # layer name in the file (ASCII for GeoPackage/GeoJSON)
    title: str                 # Vietnamese title (GeoPackage identifier, KML folder)
    columns: dict[str, list]
    geometry: list | None
    labels: list[str] = field(default_factory=list)    # feature names (KML placemark names)

    def __len__(self) -> int:
        return len(self.labels) if self.labels else len(next(iter(self.columns.values()), []))

    def frame(self) -> gpd.GeoDataFrame | pd.DataFrame:
        data = {k: _cells(v) for k, v in self.columns.items()}
        if self.geometry is None:
            return pd.DataFrame(data)
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(self.geometry, crs=WGS84), crs=WGS84)


def _cells(values: list) -> list:
    out = []
    for v in values:
        if isinstance(v, dt.datetime):
            v = v.replace(microsecond=0).isoformat(sep=" ")
        elif isinstance(v, dt.date):
            v = v.isoformat()
        out.append(v)
    return out


def _check_out(out: Path, suffixes: tuple[str, ...]) -> None:
    if out.suffix.lower() not in suffixes:
        raise InvalidInputError(f"{out}: định dạng không hỗ trợ, dùng .gpkg, .geojson, .kml hoặc .csv / "
                                "unsupported format, use .gpkg, .geojson, .kml or .csv")
    if not out.parent.exists():
        raise InvalidInputError(f"{out}: thư mục không tồn tại / the folder does not exist")


def _tenant_summary(tenants: dict[str, RecordState]) -> dict[str, str]:
    by_site: dict[str, list[str]] = {}
    for t in tenants.values():
        v = t.values
        techs = "/".join(v.get("technologies") or ())
        code = f" ({v['tenant_site_code']})" if v.get("tenant_site_code") else ""
        by_site.setdefault(v["site_uuid"], []).append(
            f"{operator_label(v['operator_code'])}{code}: {techs}" if techs else
            f"{operator_label(v['operator_code'])}{code}")
    return {u: "; ".join(parts) for u, parts in by_site.items()}


def _attachment_summary(attachments: dict[str, RecordState], forms: Forms) -> dict[str, str]:
    cable = forms.lists["cable_types"]
    by_pole: dict[str, list[str]] = {}
    for a in attachments.values():
        v = a.values
        by_pole.setdefault(v["pole_uuid"], []).append(
            f"{operator_label(v['operator_code'])}: {v.get('cable_count') or 0} "
            f"{cable.label(v['cable_type']).lower() if v.get('cable_type') else 'cáp'}")
    return {u: "; ".join(parts) for u, parts in by_pole.items()}


def _geometries(record: str, states: list[RecordState]) -> list | None:
    kind = GEOMETRY[record]
    if kind is None:
        return None
    if kind == "Point":
        return list(shapely.points([s.values["lon"] for s in states], [s.values["lat"] for s in states]))
    # The stored WKB, not the workbook's 7-decimal WKT: a GIS file keeps full precision.
    return [shapely.from_wkb(s.extra["row"]["geom"]) for s in states]


def record_table(spec: SheetSpec, states: list[RecordState], forms: Forms, communes: dict[str, str],
                 extra: dict[str, dict[str, str]] | None = None) -> Table:
    cols = layer_columns(spec)
    columns: dict[str, list] = {c.name: [] for c in cols}
    for st in states:
        for c in cols:
            if c.spec.kind == "field":
                v = st.values.get(c.spec.key)
            elif c.spec.kind == "parent_code":
                v = st.parent_code
            else:
                v = {"uuid": st.uuid, "version": st.version, "updated_at": st.updated_at}[c.spec.key]
            columns[c.name].append(display_value(c.spec, v, forms, communes))
    for name, by_uuid in (extra or {}).items():
        columns[name] = [by_uuid.get(st.uuid) for st in states]
    labels = [schema.title(spec.record, st.values) for st in states] if GEOMETRY.get(spec.record) else []
    return Table(spec.record, spec.record, spec.title("vi"), columns, _geometries(spec.record, states), labels)


def boundary_table(session, commune: str | None) -> Table:
    sql = ("SELECT uuid, code, name, level, parent_code, boundary, boundary_synthetic FROM admin_units "
           "WHERE deleted = 0 AND boundary IS NOT NULL")
    params = {}
    if commune:
        sql += " AND code = :c"
        params["c"] = commune
    rows = session.execute(text(sql + " ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'commune' THEN 1 "
                                      "ELSE 2 END, code"), params).all()
    code, name, level, parent, uuid = BOUNDARY_ATTRS[0], BOUNDARY_ATTRS[1], BOUNDARY_ATTRS[2], \
        BOUNDARY_ATTRS[3], BOUNDARY_ATTRS[4]
    columns = {code: [r.code for r in rows], name: [r.name for r in rows],
               level: [LEVEL_VI.get(r.level, r.level) for r in rows], parent: [r.parent_code for r in rows],
               uuid: [r.uuid for r in rows],
               BOUNDARY_SYNTHETIC_ATTR: ["Có" if r.boundary_synthetic else "Không" for r in rows]}
    geoms = [shapely.from_wkb(r.boundary) for r in rows]
    geoms = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms]
    return Table("admin_boundaries", "admin_boundaries", layer_title("admin_boundaries"), columns, geoms,
                 [r.name for r in rows])


def build_tables(db: Database, *, commune: str | None = None, forms: Forms | None = None,
                 progress: Progress | None = None, cancel: Cancel | None = None
                 ) -> tuple[list[Table], dict[str, str]]:
    """Every layer of the export, in LAYER_ORDER, and the database's meta values."""
    report = progress or (lambda _s, _f: None)
    forms = forms or load_forms()
    with db.session() as s:
        communes = province_communes(s)
        commune = resolve_commune(communes, commune)
        meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
        specs = {spec.record: spec for spec in workbook_layout(forms, communes)}
        states = {}
        for i, record in enumerate(r for r in LAYER_ORDER if r in specs):
            checkpoint(cancel)
            report(f"đọc / reading {record}", 0.5 * i / len(LAYER_ORDER))
            states[record] = read_states(s, specs[record].form, commune=commune, include_deleted=False)
        # Children of records outside the scope (or deleted) stay out with their parents.
        states["site_tenants"] = {u: t for u, t in states["site_tenants"].items()
                                  if t.values["site_uuid"] in states["sites"]}
        states["pole_attachments"] = {u: a for u, a in states["pole_attachments"].items()
                                      if a.values["pole_uuid"] in states["poles"]}
        tables = []
        for record in LAYER_ORDER:
            if record == "admin_boundaries":
                tables.append(boundary_table(s, commune))
                continue
            extra = None
            if record == "sites":
                extra = {TENANTS_ATTR: _tenant_summary(states["site_tenants"])}
            elif record == "poles":
                extra = {ATTACHMENTS_ATTR: _attachment_summary(states["pole_attachments"], forms)}
            tables.append(record_table(specs[record], list(states[record].values()), forms, communes, extra))
    meta["_commune"] = commune or ""
    return tables, meta


# -- writers --------------------------------------------------------------------------------

@contextlib.contextmanager
def _no_sync() -> Iterator[None]:
    """GDAL's SQLite without a sync per transaction: the file is a temporary one that
    atomic_output syncs once, whole, before it takes OUT's name (a crash before that leaves no
    OUT to trust), so the per-layer syncs only cost time (a tenth of a second each)."""
    option = "OGR_SQLITE_SYNCHRONOUS"
    before = pyogrio.get_gdal_config_option(option)
    pyogrio.set_gdal_config_options({option: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({option: before})


def _write_layer(t: Layer, path: Path, driver: str, **options) -> None:
    """One layer through GDAL's Arrow interface (pyogrio.write_arrow), in one transaction."""
    spatial = {"geometry_name": "geom", "geometry_type": GEOMETRY[t.record], "crs": WGS84} \
        if t.geometry is not None else {}
    pyogrio.write_arrow(t.arrow(), path, driver=driver, **spatial, **options)


def _write_gpkg(layers, out: Path, meta: dict, progress: Progress, cancel: Cancel | None) -> dict[str, int]:
    """Each layer of the iterable as it comes (the next is read meanwhile where a worker reads
    it); returns the features per layer."""
    # SPATIAL_INDEX=YES on a new layer: GDAL fills the R*Tree once, in bulk, when the layer's
    # features are all written (not a trigger per insert).
    counts = {}
    with _no_sync():
        for i, t in enumerate(layers):
            checkpoint(cancel)
            progress(f"ghi / writing {t.record}", (i + 0.5) / len(LAYER_ORDER))
            desc = f"{t.title} - Hạ tầng Desktop, {meta.get('province_name', '')}".strip(" ,")
            options = {"IDENTIFIER": t.title, "DESCRIPTION": desc}
            if t.geometry is not None:
                options["SPATIAL_INDEX"] = "YES"
            _write_layer(t, out, "GPKG", layer=t.record, append=i > 0,
                         dataset_options=GPKG_OPTIONS if i == 0 else None, layer_options=options)
            counts[t.record] = len(t)
    return counts


def geojson_paths(out: Path) -> dict[str, Path]:
    """GeoJSON holds one layer per file (RFC 7946): OUT.geojson becomes OUT_<type>.geojson."""
    return {r: out.with_name(f"{out.stem}_{r}{out.suffix}") for r in LAYER_ORDER}


def _write_geojson(layers, paths: dict[str, Path], progress: Progress, cancel: Cancel | None) -> dict[str, int]:
    """Each layer of the iterable to its file of `paths` (record -> path; see geojson_paths)."""
    counts = {}
    for i, t in enumerate(layers):
        checkpoint(cancel)
        progress(f"ghi / writing {t.record}", (i + 0.5) / len(LAYER_ORDER))
        path = paths[t.record]
        # RFC7946=YES: WGS84 lon/lat, counter-clockwise outer rings, no "crs" member. Nine
        # decimals (0.1 mm) rather than the default seven, so that re-importing our own file into
        # the database it came from changes nothing.
        # (A table without geometry - tenants, attachments - has "geometry": null features; RFC
        # 7946 mode would only warn that it has no CRS.)
        options = {"RFC7946": "YES", "COORDINATE_PRECISION": 9} if t.geometry is not None else {}
        # A text that reads as a JSON object or array (a site's source tags, a note "[...]") stays
        # text: GDAL would write it as a nested object and read it back re-serialised.
        options |= {"WRITE_NAME": "NO", "AUTODETECT_JSON_STRINGS": "NO"}
        _write_layer(t, path, "GeoJSON", layer_options=options)
        counts[t.record] = len(t)
    return counts


def description_html(title: str, attrs: dict[str, object]) -> str:
    """The placemark balloon Google Earth shows: a two-column table in Vietnamese."""
    rows = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in attrs.items() if v not in (None, "") and k not in ("UUID", "Phiên bản"))
    return f"<h3>{html.escape(title)}</h3><table border=\"1\" cellpadding=\"2\">{rows}</table>"


def _kml_folder(name: str, parts: list[Table]) -> tuple[gpd.GeoDataFrame, int]:
    columns: list[str] = []
    for t in parts:
        columns += [c for c in t.columns if c not in columns]
    data: dict[str, list] = {"Name": [], "description": []} | {c: [] for c in columns}
    geoms = []
    for t in parts:
        n = len(t.labels)
        cells = {c: _cells(v) for c, v in t.columns.items()}
        for i in range(n):
            attrs = {c: cells[c][i] for c in t.columns}
            data["Name"].append(t.labels[i])
            data["description"].append(description_html(f"{t.title} {t.labels[i]}", attrs))
            for c in columns:
                data[c].append(attrs.get(c))
        geoms += t.geometry
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84), len(geoms)


def _split_by_operator(t: Table, op_column: str) -> dict[str, Table]:
    out: dict[str, list[int]] = {}
    for i, op in enumerate(t.columns[op_column]):
        out.setdefault(op, []).append(i)
    return {op: Table(t.record, t.name, t.title, {c: [v[i] for i in idx] for c, v in t.columns.items()},
                      [t.geometry[i] for i in idx], [t.labels[i] for i in idx]) for op, idx in out.items()}


def _write_kml(tables: list[Table], out: Path, meta: dict, forms: Forms) -> tuple[list[Path], dict[str, int]]:
    by_record = {t.record: t for t in tables}
    op_col = forms["sites"].field("operator_code").label.vi
    sites = _split_by_operator(by_record["sites"], op_col)
    routes = _split_by_operator(by_record["fibre_routes"], forms["fibre_routes"].field("operator_code").label.vi)
    brands = [op.brand for op in OPERATORS]
    folders = sorted(set(sites) | set(routes), key=lambda b: (brands.index(b) if b in brands else 99, b))
    layers = [(b, [x for x in (sites.get(b), routes.get(b)) if x is not None]) for b in folders]
    layers += [(by_record[r].title, [by_record[r]]) for r in ("poles", "zones") if len(by_record[r])]
    counts = {}
    name = f"Hạ tầng viễn thông - {meta.get('province_name', '')}".strip(" -")
    for i, (folder, parts) in enumerate(layers):
        frame, n = _kml_folder(folder, parts)
        # LIBKML writes each layer as a <Folder> with ExtendedData (typed SchemaData), which
        # Google Earth shows and GDAL reads back attribute by attribute.
        pyogrio.write_dataframe(frame, out, layer=folder, driver="LIBKML", append=i > 0,
                                dataset_options={"NAME": name} if i == 0 else None,
                                layer_options={"FOLDER": "YES"})
        counts[folder] = n
    if not layers:
        pyogrio.write_dataframe(gpd.GeoDataFrame({"Name": []}, geometry=gpd.GeoSeries([], crs=WGS84)),
                                out, layer=name, driver="LIBKML")
    return [out], counts


@gc_paused()
def export_gis(db: Database, out: str | Path, *, commune: str | None = None, forms: Forms | None = None,
               progress: Progress | None = None, cancel: Cancel | None = None) -> GisExportResult:
    """Write the database (or one commune) to OUT; the format follows OUT's suffix.

    Every file is written under a temporary name beside OUT and renamed over it only when GDAL
    has finished (core/atomic.py): a full disk or a kill leaves the previous file (or the whole
    previous GeoJSON set) as it was, never a partial file that looks valid. GDAL's CSV driver
    returns success with a cut file on a full disk: a disk left full after GDAL is a failure."""
    report = progress or (lambda _s, _f: None)
    out = Path(out)
    _check_out(out, (".gpkg", ".geojson", ".json", ".kml", ".csv"))
    forms = forms or load_forms()
    suffix = out.suffix.lower()
    if suffix == ".csv":
        report("đọc / reading", 0.1)
        with atomic_output(out, lossy_writer=True) as tmp:
            count = opencellid.export_csv(db, tmp, commune=commune, forms=forms)
        report("xong / done", 1.0)
        return GisExportResult([out], {"cells": count}, "OpenCelliD CSV")
    if suffix == ".kml":
        # KML keeps the careful path (build_tables): each placemark carries its own HTML balloon
        # and name made from its values, and a folder per operator - text built per feature
        # whichever way the columns are read, for files that Google Earth opens a province at a time.
        tables, meta = build_tables(db, commune=commune, forms=forms, progress=progress, cancel=cancel)
        report("ghi / writing", 0.6)
        with atomic_output(out, lossy_writer=True) as tmp:
            _paths, counts = _write_kml(tables, tmp, meta, forms)
        report("xong / done", 1.0)
        return GisExportResult([out], counts, "KML")
    with export_layers(db, commune=commune, forms=forms, progress=report, cancel=cancel) as (meta, layers):
        if suffix in (".geojson", ".json"):
            targets = geojson_paths(out)
            with atomic_outputs([targets[r] for r in LAYER_ORDER], lossy_writer=True) as temps:
                counts = _write_geojson(layers, dict(zip(LAYER_ORDER, temps)), report, cancel)
            paths, fmt = [targets[r] for r in LAYER_ORDER], "GeoJSON"
        else:
            with atomic_output(out, lossy_writer=True) as tmp:
                counts = _write_gpkg(layers, tmp, meta, report, cancel)
            paths, fmt = [out], "GeoPackage"
    report("xong / done", 1.0)
    return GisExportResult(paths, counts, fmt)
