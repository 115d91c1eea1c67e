"""Records from GIS features: each understood group's features turned into rows for the merge
(validated by the forms, as a sheet's rows are), the tenants a site's summary attribute lists,
OpenCelliD cells grouped into sites, reference points, and admin boundaries' updates. Every
problem names its layer and feature (problems.feature_problem)."""

from __future__ import annotations

import functools
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text

from ..errors import InvalidInputError
from ..exchange.handtyped import header_key, position_reader
from ..exchange.layout import SheetSpec
from ..exchange.problems import Problem, feature_problem, message_of, with_suffix
from ..exchange.workbook_rows import NOT_IN_FILE, WorkbookRow, parse_sheet
from ..field_values import FieldError, parse_technologies
from ..forms import Forms
from ..operators import BY_CODE, normalise_operator
from ..storage.database import Database
from ..storage.dialect import bbox_filter, bbox_params, dialect_of, text_agg
from ..text import fold
from . import opencellid, reference
from .boundaries import AdminIndex, boundary_changes, match_features
from .layers import BOUNDARY_SYNTHETIC_ATTR
from .reader import FeatureGroup, check_geometries, check_geometry
from .understand import CODE_FIELD, NAME_FIELDS, GroupUnderstanding, folder_operator

@dataclass
class BoundaryUpdate:
    code: str
    name: str
    geometry: Any
    action: str               # update or unchanged
    feature: str
    synthetic: bool = False   # the file says it was drawn by a program (our export's "Ranh giới mô phỏng")
    attributes: dict = field(default_factory=dict)   # population, households, area_type the file gives
    changes: dict = field(default_factory=dict)      # {field: (stored, new)}; boundary_km2 when the shape changes

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "action": self.action, "feature": self.feature,
                "changes": {k: list(v) for k, v in self.changes.items()}}


def feature_name(g: FeatureGroup, u: GroupUnderstanding, i: int) -> str | None:
    return feature_namer(g, u)(i)


def feature_namer(g: FeatureGroup, u: GroupUnderstanding) -> Callable[[int], str | None]:
    """What names feature i in messages: its code (a boundary's name), else its KML name. The
    columns to look in are found once; the returned function only reads the feature's values."""
    code_key = CODE_FIELD.get(u.record or "")
    order = [g.columns.index(src) for src, key in u.mapping.items()
             if key == code_key or (u.record == "boundaries" and key == "name")]
    order += [j for j, c in enumerate(g.columns) if fold(c) in NAME_FIELDS]
    columns = [g.data[j] for j in order]

    def name(i: int) -> str | None:
        for column in columns:
            v = column[i]
            if v not in (None, "") and v is not NOT_IN_FILE:
                return str(v)
        return None

    return name


def _parse_tenants(summary: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
    out = []
    for part in (p.strip() for p in str(summary).split(";")):
        if not part:
            continue
        head, _, techs = part.partition(":")
        m = _TENANT_HEAD.match(head.strip())
        op_text, own_code = m.group(1), m.group(2)
        out.append((_tenant_operator(op_text), own_code, _technologies(techs) if techs.strip() else ()))
    return out


_TENANT_HEAD = re.compile(r"^(.*?)\s*(?:\((.*)\))?\s*$")


@functools.lru_cache(maxsize=256)
def _tenant_operator(op_text: str) -> str:
    """An operator's name or code as a summary writes it (a country's sites name a few)."""
    op = normalise_operator(op_text) or (op_text if op_text in BY_CODE else None)
    if op is None:
        raise FieldError(f"'{op_text}' không phải doanh nghiệp đã biết / unknown operator")
    return op


@functools.lru_cache(maxsize=1024)
def _technologies(techs: str) -> tuple[str, ...]:
    return parse_technologies(techs)


def group_rows(g: FeatureGroup, u: GroupUnderstanding, spec: SheetSpec, forms: Forms, communes: dict[str, str],
                province: str, problems: list[Problem], label: Callable[[int], str | None],
                columnwise: bool = True) -> list[WorkbookRow]:
    """The group's features as rows of `spec`'s record, validated by parse_sheet: a column at a
    time, or (`columnwise=False`) cell by cell and row by row, as the tests compare."""
    cols = {c.key: c for c in spec.columns}
    sources = [(src, key) for src, key in u.mapping.items() if key and key in cols]
    headers = [src for src, _ in sources]
    mapping = {j: cols[key] for j, (_, key) in enumerate(sources)}
    position = None
    if g.kind == "point":
        headers += ["(vĩ độ theo hình học)", "(kinh độ theo hình học)"]
        mapping[len(headers) - 2], mapping[len(headers) - 1] = cols["lat"], cols["lon"]
    elif g.kind in ("line", "polygon"):
        headers.append("(hình học)")
        mapping[len(headers) - 1] = cols["geom"]
    elif "lat" in {k for _, k in sources}:
        position = position_reader(province)  # a plain table: DMS, swapped or VN-2000 values
    folder_op = None
    if "operator_code" in cols and "operator_code" not in {k for _, k in sources}:
        folder_op = folder_operator(g.layer)
        if folder_op:
            headers.append("(doanh nghiệp theo thư mục)")
            mapping[len(headers) - 1] = cols["operator_code"]
    index = {c: j for j, c in enumerate(g.columns)}
    rows: list[list] = [headers]
    features: list[int] = []
    checked = check_geometries(g.kind, g.geometries) if g.kind != "none" else [None] * len(g)
    for i, why in enumerate(checked):
        if why:
            done = g.extra.get("repairs", {}).get(i)
            if done:  # a bow-tie zone repaired into two parts: say where the parts came from
                why += f" ({'; '.join(done)})"
            problems.append(feature_problem(g.layer, g.index[i], label(i), None, None, why))
        else:
            features.append(i)
    # The rows parse_sheet reads, put together a column at a time: the attributes mapped, the
    # geometry's cells, the folder's operator.
    every = len(features) == len(g)
    cells = [g.data[index[src]] if every else [g.data[index[src]][i] for i in features] for src, _ in sources]
    cells += _geometry_cells(g, features)
    if folder_op:
        cells.append([folder_op] * len(features))
    rows += zip(*cells) if cells else ([] for _ in features)
    found: list[Problem] = []
    parsed = parse_sheet(g.layer, rows, spec, forms, communes, found, header_row=0, mapping=mapping,
                         headers=dict(enumerate(headers)), position=position, columnwise=columnwise)
    for p in found:
        i = features[p.row - 2] if p.row and p.row >= 2 else None
        message = p.message
        if i is None and len(features) == 1:
            i = features[0]   # a problem of the whole group (a required attribute missing): its one feature
        elif i is None and features:
            shown = ", ".join(str(g.index[k]) for k in features[:10]) + (", ..." if len(features) > 10 else "")
            message = with_suffix(message, f" (đối tượng {shown})", f" (features {shown})")
        problems.append(feature_problem(g.layer, g.index[i] if i is not None else None,
                                   label(i) if i is not None else None,
                                   p.column if p.column and not p.column.startswith("(") else None, p.value, message))
    for r in parsed:
        i = features[r.row - 2]
        r.extra.update(layer=g.layer, feature=g.index[i], name=label(i), sheet=g.layer)
        r.row = g.index[i]
    tenant_src = next((src for src, key in u.mapping.items() if key == "tenants"), None)
    if tenant_src is not None:
        _tenant_operator.cache_clear()   # remembered within one group: the lists may change between imports
        _technologies.cache_clear()
        by_feature = {r.extra["feature"]: r for r in parsed}
        summaries = g.data[index[tenant_src]]
        for i in features:
            r = by_feature.get(g.index[i])
            summary = summaries[i]
            if r is None or summary in (None, "") or summary is NOT_IN_FILE:
                continue
            try:
                r.extra["tenants"] = _parse_tenants(summary)
            except FieldError as exc:
                problems.append(feature_problem(g.layer, g.index[i], label(i), tenant_src, summary, message_of(exc)))
    return parsed


def _geometry_cells(g: FeatureGroup, features: list[int]) -> list[list]:
    """The columns of cells a feature's geometry gives (single() of it, over the array): a point's
    latitude and longitude, a line's or polygon's full-precision WKT; none for a table."""
    if g.kind not in ("point", "line", "polygon"):
        return []
    arr = shapely.force_2d(np.array([g.geometries[i] for i in features] + [None], dtype=object)[:len(features)])
    multi = np.isin(shapely.get_type_id(arr), (4, 5, 6)) & (shapely.get_num_geometries(arr) == 1)
    if multi.any():
        arr[multi] = shapely.get_geometry(arr[multi], 0)
    if g.kind == "point":
        return [shapely.get_y(arr).tolist(), shapely.get_x(arr).tolist()]
    return [shapely.to_wkt(arr, rounding_precision=-1).tolist()]


def tenant_rows(site_rows: list[WorkbookRow]) -> list[WorkbookRow]:
    """Tenant rows from a site's "Doanh nghiệp trên trạm" summary (KML, third-party files)."""
    out = []
    for r in site_rows:
        r.values.pop("technologies", None)
        for op, own_code, techs in r.extra.get("tenants", ()):
            values = {"site_uuid": r.uuid, "operator_code": op, "tenant_site_code": own_code, "technologies": techs}
            if r.extra.get("cells"):
                del values["tenant_site_code"]  # a cell list has no operator's own code: it says nothing
            out.append(WorkbookRow("site_tenants", r.row, str(uuidlib.uuid4()), True, None, False, values,
                                   matched_by="new", extra={"parent_row": r, "notes": [], "sheet": r.extra.get("sheet")}))
    return out


def cell_rows(g: FeatureGroup, forms: Forms, communes: dict[str, str], problems: list[Problem]) -> list[WorkbookRow]:
    """Sites and tenants from an OpenCelliD cell list."""
    import pandas as pd

    frame = pd.DataFrame(g.values, columns=g.columns)
    sites, bad = opencellid.sites_from_cells(frame)
    for row, message in bad:
        problems.append(feature_problem(g.layer, row - 1, None, None, None, message))
    out = []
    for site in sites:
        feature = site["rows"][0] - 1
        try:
            from ..geo.parse import check_in_vietnam

            check_in_vietnam(site["lat"], site["lon"])
        except InvalidInputError as exc:
            problems.append(feature_problem(g.layer, feature, None, "lat, lon", f"{site['lat']}, {site['lon']}", message_of(exc)))
            continue
        area = site["area"]
        area = str(int(float(area))).zfill(5) if area not in (None, "") else ""
        cell = site["cell"]
        cell = int(float(cell)) if cell not in (None, "") else 0
        # A cell list says nothing about a site's name, status or plan: only what it holds is a
        # value (a field it lacks is left out, as a workbook's missing column is), so a site it
        # matches keeps its own; a new site takes the form's defaults (complete_inserts).
        values = dict(site_code=f"OCID-452-{site['net']:02d}-{int(area or 0)}-{cell}",
                      operator_code=site["operator"], lat=site["lat"], lon=site["lon"])
        if area in communes:
            values["commune_code"] = area
        r = WorkbookRow("sites", feature, str(uuidlib.uuid4()), True, None, False, values, matched_by="new",
                        extra={"layer": g.layer, "feature": feature, "sheet": g.layer, "notes": [],
                               "synthetic_code": True, "cells": True,
                               "tenants": [(op, None, tuple(sorted(t))) for op, t in site["tenants"].items()]})
        out.append(r)
    return out


def match_cells(db: Database, rows: list[WorkbookRow]) -> None:
    """A site from a cell list is the nearest live site within 10 m that any of its operators
    owns or rents: the list names the operators on a mast, not which of them owns it (the
    owner's own cells are missing when it runs no technology there)."""
    from ..geo.geodesy import geodesic_distance_m

    taken: set[str] = set()
    with db.session() as s:
        dialect = dialect_of(s)
        for r in rows:
            if r.record != "sites" or not r.is_new or not r.extra.get("cells"):
                continue
            ops = {op for op, _code, _techs in r.extra.get("tenants", ())} | {r.values.get("operator_code")}
            lat, lon, d = r.values["lat"], r.values["lon"], 0.0002
            best, nearest = None, 10.0
            for uuid, slat, slon, owner, tenants in s.execute(text(
                    f"SELECT t.uuid, t.lat, t.lon, t.operator_code, (SELECT {text_agg(dialect, 'n.operator_code')} "
                    "FROM site_tenants n WHERE n.site_uuid = t.uuid AND n.deleted = 0) "
                    f"FROM sites t WHERE {bbox_filter(dialect, 'sites', 't')} AND t.deleted = 0"),
                    bbox_params(lon - d, lat - d, lon + d, lat + d)):
                if uuid in taken or not ops & ({owner} | set((tenants or "").split(","))):
                    continue
                distance = geodesic_distance_m(lat, lon, slat, slon)
                if distance <= nearest:
                    best, nearest = uuid, distance
            if best:
                taken.add(best)
                r.uuid, r.is_new, r.matched_by = best, False, "position"


def match_zones(db: Database, rows: list[WorkbookRow]) -> None:
    with db.session() as s:
        for r in rows:
            if r.record == "zones" and r.is_new:
                found = s.execute(text("SELECT uuid FROM zones WHERE deleted = 0 AND code = :c"),
                                  {"c": r.values.get("code")}).scalar()
                if found:
                    r.uuid, r.is_new, r.matched_by = found, False, "code"


def boundary_updates(g: FeatureGroup, u: GroupUnderstanding, admin: AdminIndex, problems: list[Problem],
                      warnings: list[str], label, accept_name_match: bool) -> list[BoundaryUpdate]:
    """Which admin unit each polygon is (boundaries.match_features), and what would change."""
    valid = []
    for i in range(len(g)):
        geom = g.geometries[i]
        multi = getattr(geom, "geom_type", None) == "MultiPolygon"
        why = _multi_polygon_problem(geom) if multi else check_geometry("polygon", geom)
        if why:
            problems.append(feature_problem(g.layer, g.index[i], label(i), None, None, why))
            continue
        valid.append(i)
    found = match_features(g, u.mapping, admin, valid, accept_name_match=accept_name_match, label=label)
    for p in found.issues:
        problems.append(feature_problem(g.layer, g.index[p.i] if p.i is not None else None, p.name, p.attribute, p.value,
                                   p.message, p.suggestion))
    warnings += [f"lớp '{g.layer}': {w}" for w in found.warnings]
    out = []
    for m in found.matches:
        drawn = any(_synthetic_flag(g, i) for i in m.rows)
        changes = boundary_changes(admin.current.get(m.code), m.geometry, drawn, m.attributes)
        out.append(BoundaryUpdate(m.code, m.name, m.geometry, "update" if changes else "unchanged", m.label, drawn,
                                  m.attributes, changes))
    return out


def _synthetic_flag(g: FeatureGroup, i: int) -> bool:
    """Whether the file marks feature i's boundary as drawn by a program (our own export's
    "Ranh giới mô phỏng" = "Có"); a file without the attribute holds surveyed boundaries."""
    column = next((c for c in g.columns if header_key(c) == header_key(BOUNDARY_SYNTHETIC_ATTR)), None)
    if column is None:
        return False
    return fold(str(g.column(column)[i] or "")) in ("co", "yes", "true", "1", "x")


def _multi_polygon_problem(geom) -> str | None:
    # A commune with islands is a MultiPolygon: check each part, not "one part per feature".
    for part in geom.geoms:
        why = check_geometry("polygon", part)
        if why:
            return why
    return None


def reference_rows(db: Database, g: FeatureGroup, u: GroupUnderstanding, spec: SheetSpec, forms: Forms,
                    communes: dict[str, str], province: str, problems: list[Problem], path: Path,
                    include_untyped: bool, skipped: list, columnwise: bool = True) -> list[WorkbookRow]:
    """Sites to verify from a reference layer (OpenStreetMap masts, a list of coordinates): the
    features reference.py keeps, with their made-up code, operator, status and source, parsed
    and checked like any other sites."""
    kept, mapping, notes = reference.prepare(db, g, u.mapping, path, osm=u.reference == "osm",
                                             folder_operator=folder_operator(g.layer),
                                             include_untyped=include_untyped, skipped=skipped)
    u.notes += notes
    if not len(kept):
        return []
    ku = GroupUnderstanding(g.layer, g.kind, len(kept), "sites", mapping, u.targets)
    parsed = group_rows(kept, ku, spec, forms, communes, province, problems,
                         lambda i: feature_name(kept, ku, i), columnwise)
    return reference.finish(db, kept, parsed)
