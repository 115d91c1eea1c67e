"""Import a GIS file: understand its layers, validate every feature, then merge in one transaction.

Each group of features (a layer, split by geometry kind) is understood as one record type:
points are sites or poles, lines fibre routes, polygons zones or administrative boundaries. The
attribute mapping is the Excel import's header matching (handtyped.py), the validation is the
forms' (workbook_rows.parse_sheet), the matching of existing records and the three-way merge are
the Excel import's too; only the geometry checks and the attribute sources are GIS-specific.
Nothing is written when any feature has a problem, or in a dry run.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import text

from .. import schema
from ..errors import InvalidInputError
from ..exchange.export import province_communes
from ..exchange.handtyped import (hand_typed_specs, header_key, match_existing, match_headers, position_reader,
                                  split_tenants)
from ..exchange.importer import (COUNT_KEYS, HeldTransaction, NothingToWrite, RecordPlan, check_duplicates,
                                 check_parents, check_unique, complete_inserts, drop_implied_rows, plan_import,
                                 write_checked, write_plans)
from ..exchange.layout import ColumnSpec, SheetSpec, workbook_layout
from ..exchange.workbook_rows import NOT_IN_FILE, Problem, WorkbookRow, clipped, parse_sheet
from ..perf import gc_paused
from ..forms import FieldError, Forms, load_forms, parse_technologies
from ..operators import BY_CODE, normalise_operator
from ..storage.database import Database, backup_file
from ..text import fold
from . import opencellid, reference
from .boundaries import TARGETS as BOUNDARY_TARGETS, AdminIndex, boundary_changes, find_columns, ignored_note, \
    match_features
from .layers import ATTACHMENTS_ATTR, BOUNDARY_SYNTHETIC_ATTR, TENANTS_ATTR
from .reader import FeatureGroup, check_geometry, read_groups, single

Progress = Callable[[str, float], None]
AS_CHOICES = {"sites": "sites", "poles": "poles", "routes": "fibre_routes", "fibre_routes": "fibre_routes",
              "zones": "zones", "boundaries": "boundaries"}
CANDIDATES = {"point": ("sites", "poles"), "line": ("fibre_routes",), "polygon": ("zones", "boundaries"),
              "none": ("site_tenants", "pole_attachments", "sites", "poles")}
# The field a KML placemark's name fills: the first of the fields that name a record (forms/).
CODE_FIELD = {r: schema.form(r).title[0] for r in ("sites", "poles", "fibre_routes", "zones")}
NAME_FIELDS = {"name"}  # the KML placemark name, as GDAL reads it ("Name")
IGNORED = "-"


class InvalidGisFileError(InvalidInputError):
    def __init__(self, path: Path, problems: list[GisProblem]):
        self.problems = problems
        head = (f"{path}: tệp có {len(problems)} lỗi, không thay đổi gì / the file has {len(problems)} "
                "problems, nothing was changed")
        super().__init__(head + "".join(f"\n  - {p}" for p in problems[:50]) +
                         (f"\n  ... và {len(problems) - 50} lỗi khác / more" if len(problems) > 50 else ""))


@dataclass
class GisProblem:
    layer: str
    feature: int | None        # feature number in its layer, 1-based
    name: str | None           # the feature's name or code, as the file has it
    attribute: str | None
    value: Any
    message: str
    suggestion: tuple[str, str] | None = None   # (code, name) of the admin unit the name fits

    def as_dict(self) -> dict:
        value = self.value.isoformat() if isinstance(self.value, (dt.date, dt.datetime)) else self.value
        out = {"layer": self.layer, "feature": self.feature, "name": self.name, "attribute": self.attribute,
               "value": value, "message": self.message}
        if self.suggestion:
            out["suggestion"] = {"code": self.suggestion[0], "name": self.suggestion[1]}
        return out

    def __str__(self) -> str:
        where = f"lớp '{self.layer}'"
        if self.feature is not None:
            where += f", đối tượng {self.feature}" + (f" '{self.name}'" if self.name else "")
        if self.attribute:
            where += f", thuộc tính '{self.attribute}'"
        shown = f" (giá trị '{clipped(str(self.value))}')" if self.value not in (None, "") else ""
        return f"{where}{shown}: {self.message}"


@dataclass
class GroupUnderstanding:
    """How one group of features was understood: what the preview shows and the user can change."""
    layer: str
    kind: str
    features: int
    record: str | None
    mapping: dict[str, str | None]          # source attribute -> our column key (None: ignored)
    targets: list[tuple[str, str]]          # (column key, Vietnamese header) the record offers
    notes: list[str] = field(default_factory=list)
    # "osm" or "list": reference points imported as sites to verify (reference.py); the OSM
    # reading is fixed (its tags are read, not mapped), a list's mapping can be corrected.
    reference: str | None = None

    def as_dict(self) -> dict:
        labels = dict(self.targets)
        return {"layer": self.layer, "geometry": self.kind, "features": self.features, "record": self.record,
                "columns": {src: (labels.get(key, key) if key else None) for src, key in self.mapping.items()},
                "notes": self.notes, "reference": self.reference}


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


@dataclass
class GisImportResult:
    path: Path
    groups: list[GroupUnderstanding]
    problems: list[GisProblem]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    plans: list[RecordPlan] = field(default_factory=list)
    boundaries: list[BoundaryUpdate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied: bool = False
    skipped: list[reference.Skipped] = field(default_factory=list)   # reference points left out, and why
    backup: Path | None = None

    @property
    def total(self) -> dict[str, int]:
        return {k: sum(c.get(k, 0) for c in self.counts.values()) for k in COUNT_KEYS}

    @property
    def has_changes(self) -> bool:
        return any(p.action != "unchanged" or p.conflicts for p in self.plans) or any(
            b.action != "unchanged" for b in self.boundaries)

    def as_json(self) -> dict:
        return {**self.total, "by_type": self.counts, "errors": [p.as_dict() for p in self.problems],
                "layers": [g.as_dict() for g in self.groups], "warnings": self.warnings,
                "skipped": [k.as_dict() for k in self.skipped],
                "boundaries": [b.as_dict() for b in self.boundaries],
                "applied": self.applied, "backup": str(self.backup) if self.backup else None}


# -- understanding a group ------------------------------------------------------------------

def _specs(forms: Forms, communes: dict[str, str]) -> dict[str, SheetSpec]:
    layout = workbook_layout(forms, communes)
    specs = {s.record: s for s in layout}
    specs["sites"] = hand_typed_specs(layout, forms)[0]   # sites learn a "Công nghệ" column
    return specs


def _geometry_keys(kind: str) -> set[str]:
    return {"lat", "lon"} if kind == "point" else {"geom"} if kind in ("line", "polygon") else set()


def _required(spec: SheetSpec, provided: set[str]) -> list[ColumnSpec]:
    return [c for c in spec.columns if c.kind == "field" and c.field.required and c.field.type != "reference"
            and c.key not in provided and c.field.default is None]


def _folder_operator(layer: str) -> str | None:
    code = normalise_operator(layer)
    if code:
        return code
    for word in re.split(r"[\s\-_/,.()]+", layer):
        if word and (code := normalise_operator(word)) and code != "OTHER":
            return code
    return None


def _special(name: str) -> str | None:
    key = header_key(name)
    if key == header_key(TENANTS_ATTR):
        return "tenants"
    if key == header_key(ATTACHMENTS_ATTR):
        return "attachments"
    return None


def _spec_mapping(g: FeatureGroup, spec: SheetSpec) -> dict[str, str]:
    # The KML placemark name is only a fallback (below): it must not take "Tên trạm" from the
    # attribute that really holds the site name.
    headers = {j: n for j, n in enumerate(g.columns) if not _special(n) and fold(n) not in NAME_FIELDS}
    mapping, _unknown = match_headers(headers, spec)
    return {g.columns[j]: c.key for j, c in mapping.items()}


def understand(g: FeatureGroup, specs: dict[str, SheetSpec], admin: AdminIndex, *, as_record: str | None = None,
               overrides: dict[str, str | None] | None = None) -> GroupUnderstanding:
    candidates = CANDIDATES.get(g.kind, ())
    notes = ([g.crs_note] if g.crs_note else []) + list(g.notes)
    forced = AS_CHOICES.get(as_record or "")
    folder_op = _folder_operator(g.layer)
    if forced and forced in candidates:
        candidates = (forced,)
    if forced in (None, "sites") and reference.is_osm(g):
        # OpenStreetMap masts: sites to verify, their tags read by reference.py.
        return GroupUnderstanding(g.layer, g.kind, len(g), "sites", reference.osm_mapping(g),
                                  _targets(specs["sites"], g.kind, "sites"), notes + ["OpenStreetMap"],
                                  reference="osm")
    best, best_rank, best_map = None, None, {}
    readings: dict[str, tuple[list, dict]] = {}
    for record in candidates:
        if record == "boundaries":
            found = find_columns(g, admin)
            if found.share < 0.5 and forced != "boundaries":
                continue
            # Names of 2025 (or pre-2025) units on most features: boundaries, whatever else the
            # attributes could be read as (a "Loại" column of "Xã" is not a zone's kind). Codes
            # alone beat zones only when the zones reading lacks a required field.
            rank = (1, 0, 0) if found.strong >= 0.5 else (-0.5, 0, 0)
            mapping = {}
        else:
            spec = specs[record]
            mapping = _spec_mapping(g, spec)
            provided = _geometry_keys(g.kind) | set(mapping.values())
            if folder_op and "operator_code" in {c.key for c in spec.columns}:
                provided.add("operator_code")
            if g.kind == "none" and record in ("sites", "poles") and not {"lat", "lon"} <= provided:
                continue  # a table without geometry holds points only when it has coordinates
            missing = _required(spec, provided)
            readings[record] = (missing, mapping)
            rank = (-len(missing), len(mapping), 0)
        if best_rank is None or rank > best_rank:
            best, best_rank, best_map = record, rank, mapping
    if _reference_list(g, forced, readings):
        best, best_map = "sites", readings["sites"][1]
    if best is None:
        return GroupUnderstanding(g.layer, g.kind, len(g), None, {c: None for c in g.columns}, [],
                                  notes + ["không nhận ra loại dữ liệu; bỏ qua lớp này / not understood; "
                                           "layer skipped"])
    if best == "boundaries":
        found = find_columns(g, admin)
        mapping = {c: ("code" if c == found.code else "name" if c == found.name else found.attributes.get(c))
                   for c in g.columns}
        targets = list(BOUNDARY_TARGETS)
        synthetic = next((c for c in g.columns if header_key(c) == header_key(BOUNDARY_SYNTHETIC_ATTR)), None)
        if synthetic:
            mapping[synthetic] = "boundary_synthetic"
            targets.append(("boundary_synthetic", BOUNDARY_SYNTHETIC_ATTR))
        mapping = _apply_overrides(g, mapping, overrides, targets)
        note = ignored_note(mapping)
        return GroupUnderstanding(g.layer, g.kind, len(g), best, mapping, targets, notes + ([note] if note else []))
    spec = specs[best]
    mapping = {c: best_map.get(c) for c in g.columns}
    for c in g.columns:
        if _special(c) == "tenants" and best == "sites":
            mapping[c] = "tenants"
    code_key = CODE_FIELD.get(best)
    name_col = next((c for c in g.columns if fold(c) in NAME_FIELDS and mapping.get(c) is None), None)
    if name_col and code_key:
        # A KML placemark's name is what people see in Google Earth: the site, pole or route code,
        # or a zone's name when the zone has no name attribute.
        if code_key not in mapping.values():
            mapping[name_col] = code_key
        elif best in ("sites", "zones") and "name" not in mapping.values():
            mapping[name_col] = "name"
    if folder_op and "operator_code" not in mapping.values() and any(c.key == "operator_code" for c in spec.columns):
        notes.append(f"doanh nghiệp lấy theo tên thư mục/lớp '{g.layer}' / operator from the folder name")
    targets = _targets(spec, g.kind, best)
    # A list of reference points when the file itself has no code or no operator for them; a
    # survey layer whose code the user chose to ignore stays a survey layer (and is refused).
    listed = reference.lacks_identity(mapping, folder_op)
    mapping = _apply_overrides(g, mapping, overrides, targets)
    if (best == "sites" and g.kind in ("point", "none") and "uuid" not in mapping.values() and listed
            and reference.lacks_identity(mapping, folder_op)):
        # No code or no operator for the points: a list of reference points, sites to verify.
        return GroupUnderstanding(g.layer, g.kind, len(g), best, reference.list_mapping(g, mapping), targets,
                                  notes, reference="list")
    return GroupUnderstanding(g.layer, g.kind, len(g), best, mapping, targets, notes)


def _targets(spec: SheetSpec, kind: str, record: str) -> list[tuple[str, str]]:
    targets = [(c.key, c.header("vi")) for c in spec.columns
               if c.kind in ("field", "system") and c.key not in _geometry_keys(kind)]
    if record == "sites":
        targets.append(("tenants", TENANTS_ATTR))
    return targets


def _reference_list(g: FeatureGroup, forced: str | None, readings: dict[str, tuple[list, dict]]) -> bool:
    """Points read best as sites lacking only a code or an operator (a name and coordinates, an
    operator's list without codes): reference points, when no reading is complete and no other
    record type explains more of the attributes (a list of poles without codes stays poles)."""
    if forced not in (None, "sites") or "sites" not in readings or g.kind not in ("point", "none"):
        return False
    missing, mapping = readings["sites"]
    if not missing or {c.key for c in missing} - {"site_code", "operator_code"}:
        return False
    # A table with coordinates holds points: never tenants or attachments (no position of their own).
    others = {r: v for r, v in readings.items() if r not in ("sites", "site_tenants", "pole_attachments")}
    if any(not m for m, _map in others.values()):
        return False
    return all(len(mapping) >= len(other) for _m, other in others.values())


def _apply_overrides(g: FeatureGroup, mapping: dict, overrides: dict | None, targets: list[tuple[str, str]]) -> dict:
    if not overrides:
        return mapping
    mapping = dict(mapping)
    by_name = {}
    for key, label in targets:
        by_name[fold(key)] = key
        by_name[fold(label)] = key
        by_name[header_key(label)] = key
    for src, target in overrides.items():
        layer, _, attr = src.rpartition("::")
        if layer and layer != g.layer or attr not in mapping:
            continue
        if target in (None, "", IGNORED):
            mapping[attr] = None
            continue
        key = by_name.get(fold(target)) or by_name.get(header_key(target))
        if key is None:
            raise InvalidInputError(f"--map {attr}={target}: '{target}' không phải trường của "
                                    f"lớp '{g.layer}' / not a field of this layer; "
                                    f"dùng / use: {', '.join(k for k, _ in targets)}")
        for other, k in list(mapping.items()):
            if k == key:
                mapping[other] = None  # one source per field
        mapping[attr] = key
    return mapping


# -- rows from features ---------------------------------------------------------------------

def _feature_name(g: FeatureGroup, u: GroupUnderstanding, i: int) -> str | None:
    code_key = CODE_FIELD.get(u.record or "")
    for src, key in u.mapping.items():
        if key == code_key or (u.record == "boundaries" and key == "name"):
            v = g.values[i][g.columns.index(src)]
            if v not in (None, "") and v is not NOT_IN_FILE:
                return str(v)
    for c in g.columns:
        if fold(c) in NAME_FIELDS:
            v = g.values[i][g.columns.index(c)]
            if v not in (None, "") and v is not NOT_IN_FILE:
                return str(v)
    return None


def _parse_tenants(summary: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
    out = []
    for part in (p.strip() for p in str(summary).split(";")):
        if not part:
            continue
        head, _, techs = part.partition(":")
        m = re.match(r"^(.*?)\s*(?:\((.*)\))?\s*$", head.strip())
        op_text, own_code = m.group(1), m.group(2)
        op = normalise_operator(op_text) or (op_text if op_text in BY_CODE else None)
        if op is None:
            raise FieldError(f"'{op_text}' không phải doanh nghiệp đã biết / unknown operator")
        out.append((op, own_code, parse_technologies(techs) if techs.strip() else ()))
    return out


def _group_rows(g: FeatureGroup, u: GroupUnderstanding, spec: SheetSpec, forms: Forms, communes: dict[str, str],
                province: str, problems: list[GisProblem], label: Callable[[int], str | None]) -> list[WorkbookRow]:
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
        folder_op = _folder_operator(g.layer)
        if folder_op:
            headers.append("(doanh nghiệp theo thư mục)")
            mapping[len(headers) - 1] = cols["operator_code"]
    index = {c: j for j, c in enumerate(g.columns)}
    rows: list[list] = [headers]
    features: list[int] = []
    for i in range(len(g)):
        if g.kind != "none":
            why = check_geometry(g.kind, g.geometries[i])
            if why:
                done = g.extra.get("repairs", {}).get(i)
                if done:  # a bow-tie zone repaired into two parts: say where the parts came from
                    why += f" ({'; '.join(done)})"
                problems.append(GisProblem(g.layer, g.index[i], label(i), None, None, why))
                continue
        cells = [g.values[i][index[src]] for src, _ in sources]
        if g.kind == "point":
            p = single(g.geometries[i])
            cells += [float(p.y), float(p.x)]
        elif g.kind in ("line", "polygon"):
            cells.append(shapely.to_wkt(single(g.geometries[i]), rounding_precision=-1))
        if folder_op:
            cells.append(folder_op)
        rows.append(cells)
        features.append(i)
    found: list[Problem] = []
    parsed = parse_sheet(g.layer, rows, spec, forms, communes, found, header_row=0, mapping=mapping,
                         headers=dict(enumerate(headers)), position=position)
    for p in found:
        i = features[p.row - 2] if p.row and p.row >= 2 else None
        message = p.message
        if i is None and len(features) == 1:
            i = features[0]   # a problem of the whole group (a required attribute missing): its one feature
        elif i is None and features:
            shown = ", ".join(str(g.index[k]) for k in features[:10]) + (", ..." if len(features) > 10 else "")
            message += f" (đối tượng {shown} / features {shown})"
        problems.append(GisProblem(g.layer, g.index[i] if i is not None else None,
                                   label(i) if i is not None else None,
                                   p.column if p.column and not p.column.startswith("(") else None, p.value, message))
    for r in parsed:
        i = features[r.row - 2]
        r.extra.update(layer=g.layer, feature=g.index[i], name=label(i), sheet=g.layer)
        r.row = g.index[i]
    tenant_src = next((src for src, key in u.mapping.items() if key == "tenants"), None)
    if tenant_src is not None:
        by_feature = {r.extra["feature"]: r for r in parsed}
        for i in features:
            r = by_feature.get(g.index[i])
            summary = g.values[i][index[tenant_src]]
            if r is None or summary in (None, "") or summary is NOT_IN_FILE:
                continue
            try:
                r.extra["tenants"] = _parse_tenants(summary)
            except FieldError as exc:
                problems.append(GisProblem(g.layer, g.index[i], label(i), tenant_src, summary, str(exc)))
    return parsed


def _tenant_rows(site_rows: list[WorkbookRow]) -> list[WorkbookRow]:
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


def _cell_rows(g: FeatureGroup, forms: Forms, communes: dict[str, str], problems: list[GisProblem]) -> list[WorkbookRow]:
    """Sites and tenants from an OpenCelliD cell list."""
    import pandas as pd

    frame = pd.DataFrame(g.values, columns=g.columns)
    sites, bad = opencellid.sites_from_cells(frame)
    for row, message in bad:
        problems.append(GisProblem(g.layer, row - 1, None, None, None, message))
    out = []
    for site in sites:
        feature = site["rows"][0] - 1
        try:
            from ..coords import check_in_vietnam

            check_in_vietnam(site["lat"], site["lon"])
        except InvalidInputError as exc:
            problems.append(GisProblem(g.layer, feature, None, "lat, lon", f"{site['lat']}, {site['lon']}", str(exc)))
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


def _match_cells(db: Database, rows: list[WorkbookRow]) -> None:
    """A site from a cell list is the nearest live site within 10 m that any of its operators
    owns or rents: the list names the operators on a mast, not which of them owns it (the
    owner's own cells are missing when it runs no technology there)."""
    from ..coords import geodesic_distance_m

    taken: set[str] = set()
    with db.session() as s:
        for r in rows:
            if r.record != "sites" or not r.is_new or not r.extra.get("cells"):
                continue
            ops = {op for op, _code, _techs in r.extra.get("tenants", ())} | {r.values.get("operator_code")}
            lat, lon, d = r.values["lat"], r.values["lon"], 0.0002
            best, nearest = None, 10.0
            for uuid, slat, slon, owner, tenants in s.execute(text(
                    "SELECT t.uuid, t.lat, t.lon, t.operator_code, (SELECT group_concat(n.operator_code) "
                    "FROM site_tenants n WHERE n.site_uuid = t.uuid AND n.deleted = 0) "
                    "FROM rtree_sites r JOIN sites t ON t.id = r.id WHERE r.min_x <= :x1 AND r.max_x >= :x0 "
                    "AND r.min_y <= :y1 AND r.max_y >= :y0 AND t.deleted = 0"),
                    {"x0": lon - d, "x1": lon + d, "y0": lat - d, "y1": lat + d}):
                if uuid in taken or not ops & ({owner} | set((tenants or "").split(","))):
                    continue
                distance = geodesic_distance_m(lat, lon, slat, slon)
                if distance <= nearest:
                    best, nearest = uuid, distance
            if best:
                taken.add(best)
                r.uuid, r.is_new, r.matched_by = best, False, "position"


def _match_zones(db: Database, rows: list[WorkbookRow]) -> None:
    with db.session() as s:
        for r in rows:
            if r.record == "zones" and r.is_new:
                found = s.execute(text("SELECT uuid FROM zones WHERE deleted = 0 AND code = :c"),
                                  {"c": r.values.get("code")}).scalar()
                if found:
                    r.uuid, r.is_new, r.matched_by = found, False, "code"


def _boundary_updates(g: FeatureGroup, u: GroupUnderstanding, admin: AdminIndex, problems: list[GisProblem],
                      warnings: list[str], label, accept_name_match: bool) -> list[BoundaryUpdate]:
    """Which admin unit each polygon is (boundaries.match_features), and what would change."""
    valid = []
    for i in range(len(g)):
        geom = g.geometries[i]
        multi = getattr(geom, "geom_type", None) == "MultiPolygon"
        why = _multi_polygon_problem(geom) if multi else check_geometry("polygon", geom)
        if why:
            problems.append(GisProblem(g.layer, g.index[i], label(i), None, None, why))
            continue
        valid.append(i)
    found = match_features(g, u.mapping, admin, valid, accept_name_match=accept_name_match, label=label)
    for p in found.issues:
        problems.append(GisProblem(g.layer, g.index[p.i] if p.i is not None else None, p.name, p.attribute, p.value,
                                   p.message, p.suggestion))
    warnings += [f"lớp '{g.layer}': {w}" for w in found.warnings]
    out = []
    for m in found.matches:
        drawn = any(_synthetic_flag(g, i) for i in m.rows)
        changes = boundary_changes(admin.current.get(m.code), m.geometry, drawn, m.attributes)
        out.append(BoundaryUpdate(m.code, m.name, m.geometry, "update" if changes else "unchanged", m.label, drawn,
                                  m.attributes, changes))
    return out


def _recheck_boundaries(here, result: GisImportResult) -> None:
    """The boundaries' changes against the admin units as they are now: under the write lock
    when importing, so a figure written since the file was read is compared, not overwritten
    unseen."""
    if not result.boundaries:
        return
    with here.session() as s:
        rows = {r.code: r for r in s.execute(text(
            "SELECT code, boundary, boundary_synthetic, population, households, area_type FROM admin_units "
            "WHERE deleted = 0"))}
    for b in result.boundaries:
        b.changes = boundary_changes(rows.get(b.code), b.geometry, b.synthetic, b.attributes)
        b.action = "update" if b.changes else "unchanged"


def _synthetic_flag(g: FeatureGroup, i: int) -> bool:
    """Whether the file marks feature i's boundary as drawn by a program (our own export's
    "Ranh giới mô phỏng" = "Có"); a file without the attribute holds surveyed boundaries."""
    column = next((c for c in g.columns if header_key(c) == header_key(BOUNDARY_SYNTHETIC_ATTR)), None)
    if column is None:
        return False
    return fold(str(g.values[i][g.columns.index(column)] or "")) in ("co", "yes", "true", "1", "x")


def _multi_polygon_problem(geom) -> str | None:
    # A commune with islands is a MultiPolygon: check each part, not "one part per feature".
    for part in geom.geoms:
        why = check_geometry("polygon", part)
        if why:
            return why
    return None


def _reference_rows(db: Database, g: FeatureGroup, u: GroupUnderstanding, spec: SheetSpec, forms: Forms,
                    communes: dict[str, str], province: str, problems: list[GisProblem], path: Path,
                    include_untyped: bool, skipped: list) -> list[WorkbookRow]:
    """Sites to verify from a reference layer (OpenStreetMap masts, a list of coordinates): the
    features reference.py keeps, with their made-up code, operator, status and source, parsed
    and checked like any other sites."""
    kept, mapping, notes = reference.prepare(db, g, u.mapping, path, osm=u.reference == "osm",
                                             folder_operator=_folder_operator(g.layer),
                                             include_untyped=include_untyped, skipped=skipped)
    u.notes += notes
    if not len(kept):
        return []
    ku = GroupUnderstanding(g.layer, g.kind, len(kept), "sites", mapping, u.targets)
    parsed = _group_rows(kept, ku, spec, forms, communes, province, problems,
                         lambda i: _feature_name(kept, ku, i))
    return reference.finish(db, kept, parsed)

# -- the import -----------------------------------------------------------------------------

def preview_gis(db: Database, path: str | Path, *, as_record: str | None = None,
                mapping: dict[str, str | None] | None = None, forms: Forms | None = None,
                progress: Progress | None = None, include_untyped: bool = False,
                accept_name_match: bool = False) -> GisImportResult:
    """Read, understand and validate a file, and plan the merge; write nothing."""
    forms = forms or load_forms()
    result, rows = _read(db, path, as_record, mapping, forms, progress or (lambda _s, _f: None),
                         accept_name_match, include_untyped=include_untyped)
    if not result.problems:
        _plan(db, result, rows, forms, progress or (lambda _s, _f: None))
    return result


def _read(db: Database, path: str | Path, as_record: str | None, mapping: dict[str, str | None] | None,
          forms: Forms, report: Progress, accept_name_match: bool = False, *, include_untyped: bool = False
          ) -> tuple[GisImportResult, list[WorkbookRow]]:
    """Read, understand and validate a file: the result (groups, problems, boundaries,
    warnings) and the rows to merge. Reads nothing of the records a merge merges with."""
    path = Path(path)
    if as_record is not None and as_record not in AS_CHOICES:
        raise InvalidInputError(f"--as {as_record}: dùng / use sites, poles, routes, zones, boundaries")
    report("đọc tệp / reading", 0.05)
    with db.session() as s:
        communes = province_communes(s)
        province = s.execute(text("SELECT value FROM meta WHERE key = 'province_code'")).scalar() or ""
    # The province's meridian reads coordinates that look like VN-2000 but declare no CRS.
    groups = read_groups(path, province=province or None)
    admin = AdminIndex(db)
    specs = _specs(forms, communes)
    problems: list[GisProblem] = []
    understood: list[GroupUnderstanding] = []
    rows: list[WorkbookRow] = []
    boundaries: list[BoundaryUpdate] = []
    skipped: list[reference.Skipped] = []
    warnings: list[str] = []
    report("kiểm tra / validating", 0.2)
    for g in groups:
        warnings += g.extra.get("warnings", [])   # how the reader read it (encoding, CRS guessed, kinds split)
        if not len(g):
            continue                              # a layer of no features: its warning says so
        if g.kind == "none" and opencellid.is_opencellid(g.columns):
            u = GroupUnderstanding(g.layer, "none", len(g), "sites",
                                   {c: c if c.lower() in {k.lower() for k in opencellid.COLUMNS} else None
                                    for c in g.columns},
                                   [(c, c) for c in opencellid.COLUMNS], ["danh sách ô OpenCelliD / OpenCelliD cells"])
            understood.append(u)
            rows += _cell_rows(g, forms, communes, problems)
            continue
        u = understand(g, specs, admin, as_record=as_record, overrides=mapping)
        understood.append(u)
        if u.record is None:
            warnings.append(f"lớp '{g.layer}' ({g.kind}, {len(g)} đối tượng) bị bỏ qua / layer skipped")
            continue
        def label(i, g=g, u=u):
            return _feature_name(g, u, i)
        for i, done in sorted(g.extra.get("repairs", {}).items()):
            # Repaired geometries (reader.geometry.repair), named as a problem would be.
            warnings += [str(GisProblem(g.layer, g.index[i], label(i), None, None, note)) for note in done]
        if u.record == "boundaries":
            boundaries += _boundary_updates(g, u, admin, problems, warnings, label, accept_name_match)
            continue
        if u.reference:
            rows += _reference_rows(db, g, u, specs["sites"], forms, communes, province, problems, path,
                                    include_untyped, skipped)
            continue
        rows += _group_rows(g, u, specs[u.record], forms, communes, province, problems, label)
    has_tenant_layer = any(r.record == "site_tenants" for r in rows)
    site_rows = [r for r in rows if r.record == "sites"]
    if has_tenant_layer:
        for r in site_rows:
            r.values.pop("technologies", None)
    else:
        # A file without a tenants layer: tenants from the site's summary attribute, else one
        # tenant per site for its own operator (with a "Công nghệ" column's technologies).
        summary_sites = [r for r in site_rows if "tenants" in r.extra]
        others = [r for r in rows if not (r.record == "sites" and "tenants" in r.extra)]
        rows = split_tenants(others) + summary_sites + _tenant_rows(summary_sites)
    for r in rows:
        warnings += r.extra.get("notes", [])
    return GisImportResult(path, understood, problems, boundaries=boundaries, warnings=warnings,
                           skipped=skipped), rows


def _plan(here, result: GisImportResult, rows: list[WorkbookRow], forms: Forms, report: Progress) -> None:
    """Match the rows to records, check them against the database and plan the merge into
    `result` (its plans and counts, or its problems). `here` is the database, or the write
    transaction the import happens in (exchange.importer.HeldTransaction), as for a workbook."""
    problems = result.problems
    report("khớp bản ghi / matching", 0.4)
    known = reference.match(here, rows)   # reference points already here: unchanged
    _match_cells(here, rows)
    match_existing(here, rows)
    drop_implied_rows(rows)
    _match_zones(here, rows)
    for r in rows:
        if r.extra.get("synthetic_code") and not r.is_new:
            r.values.pop("site_code", None)  # a made-up code says nothing about a site we know
            if r.extra.get("cells"):
                # A cell list's first operator is not the site's owner (an owner without a
                # technology of its own has no cell): the site keeps its owner.
                r.values.pop("operator_code", None)
    found: list[Problem] = []
    check_duplicates(rows, found)
    if not found:
        check_parents(here, rows, forms, found)
    _add_problems(problems, found)
    if problems:
        return
    report("lập kế hoạch / planning", 0.5)
    result.plans, result.counts = plan_import(here, rows, {}, forms)
    if known:
        c = result.counts.setdefault("sites", dict.fromkeys(COUNT_KEYS, 0))
        c["unchanged"] = c.get("unchanged", 0) + known
    _add_problems(problems, complete_inserts(result.plans, forms) + check_unique(here, result.plans, forms))
    if problems:
        result.plans, result.counts = [], {}
        return
    _keep_same_shapes(result)
    _recheck_boundaries(here, result)
    if result.boundaries:
        result.counts["boundaries"] = dict.fromkeys(COUNT_KEYS, 0) | {
            "updated": sum(b.action == "update" for b in result.boundaries),
            "unchanged": sum(b.action == "unchanged" for b in result.boundaries)}


def _add_problems(problems: list[GisProblem], found: list[Problem]) -> None:
    for p in found:
        problems.append(GisProblem(p.sheet, p.row, None, p.column, p.value, p.message))


def _keep_same_shapes(result: GisImportResult) -> None:
    """A shape that only differs in vertex order or ring direction (GeoJSON writes outer rings
    counter-clockwise, RFC 7946) is the same shape: keep the stored one, report no change."""
    for p in result.plans:
        if p.action != "update" or not p.changes.get("geom") or not (p.local or {}).get("geom"):
            continue
        a = shapely.normalize(shapely.from_wkt(p.changes["geom"]))
        b = shapely.normalize(shapely.from_wkt(p.local["geom"]))
        # Both sides are 7-decimal text: a coordinate stored as 18.64067905 reads ...791 here
        # and ...790 from a file that held it to 9 decimals. One unit of the 7th is the same point.
        if a.equals_exact(b, 1.5e-7):
            del p.changes["geom"]
            if not p.changes:
                c = result.counts[p.row.record]
                p.action = "unchanged"
                c["updated"] -= 1
                if not p.conflicts:
                    c["unchanged"] += 1


@gc_paused()
def import_gis(db: Database, path: str | Path, *, dry_run: bool = False, as_record: str | None = None,
               mapping: dict[str, str | None] | None = None, forms: Forms | None = None, user: str | None = None,
               progress: Progress | None = None, include_untyped: bool = False, backup: bool = True,
               accept_name_match: bool = False
               ) -> GisImportResult:
    """Import a GIS file. `accept_name_match` takes the admin unit a boundary's name fits when
    its code is not a 2025 code (the problems' suggestions)."""
    report = progress or (lambda _s, _f: None)
    forms = forms or load_forms()
    result, rows = _read(db, path, as_record, mapping, forms, report, accept_name_match,
                         include_untyped=include_untyped)
    if result.problems:
        raise InvalidGisFileError(result.path, result.problems)
    if dry_run:
        _plan(db, result, rows, forms, report)
        if result.problems:
            raise InvalidGisFileError(result.path, result.problems)
        return result
    source = f"gis:{result.path.name}"
    try:
        # As for a workbook: the write lock first, then the plan reads what it merges with.
        with db.operation(f"Nhập dữ liệu GIS {result.path.name}", user=user, source=source) as s:
            _plan(HeldTransaction(db, s), result, rows, forms, report)
            if result.problems:
                raise InvalidGisFileError(result.path, result.problems)
            if not result.has_changes:
                raise NothingToWrite
            if backup:
                report("sao lưu / backup", 0.6)
                result.backup = backup_file(db.path, "truoc-nhap-gis")
            report("ghi / applying", 0.7)
            write_checked(s, result, lambda: _write(s, result, forms, source),
                          lambda message: InvalidGisFileError(result.path, [GisProblem(result.path.name, None, None,
                                                                                       None, None, message)]))
    except NothingToWrite:
        return result
    result.applied = True
    report("xong / done", 1.0)
    return result


def apply_import(db: Database, result: GisImportResult, forms: Forms, user: str | None) -> None:
    """Write planned results in one transaction, attributed to source 'gis:<file>'. The plans
    were made outside this transaction: `import_gis` plans and writes under one lock instead."""
    source = f"gis:{result.path.name}"
    with db.operation(f"Nhập dữ liệu GIS {result.path.name}", user=user, source=source) as s:
        _write(s, result, forms, source)


def _write(s, result: GisImportResult, forms: Forms, source: str) -> None:
    """The plans, the same way the Excel import writes its own (exchange.importer.write_plans),
    then any boundaries."""
    write_plans(s, result.plans, forms, source=source, origin=result.path.name)
    if any(b.action == "update" for b in result.boundaries):
        from ..model import AdminUnit

        for b in result.boundaries:
            if b.action != "update":
                continue
            unit = s.query(AdminUnit).filter(AdminUnit.code == b.code).one()
            if "boundary_km2" in b.changes:
                unit.set_shape(b.geometry)
                unit.boundary_synthetic = b.synthetic
            for key in ("population", "households", "area_type"):
                if key in b.changes:
                    setattr(unit, key, b.changes[key][1])
