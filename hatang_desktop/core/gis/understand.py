"""How a group of GIS features is understood: which record type it holds and which attribute
feeds which field (the Excel import's header matching, handtyped.py), with the user's
corrections (`--map`, the import dialog's combos) applied."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import schema
from ..errors import InvalidInputError
from ..exchange.handtyped import hand_typed_specs, header_key, match_headers
from ..exchange.layout import ColumnSpec, SheetSpec, workbook_layout
from ..forms import Forms
from ..operators import normalise_operator
from ..text import fold
from . import reference
from .boundaries import TARGETS as BOUNDARY_TARGETS, AdminIndex, find_columns, ignored_note
from .layers import ATTACHMENTS_ATTR, BOUNDARY_SYNTHETIC_ATTR, TENANTS_ATTR
from .reader import FeatureGroup

AS_CHOICES = {"sites": "sites", "poles": "poles", "routes": "fibre_routes", "fibre_routes": "fibre_routes",
              "zones": "zones", "boundaries": "boundaries"}
CANDIDATES = {"point": ("sites", "poles"), "line": ("fibre_routes",), "polygon": ("zones", "boundaries"),
              "none": ("site_tenants", "pole_attachments", "sites", "poles")}
# The field a KML placemark's name fills: the first of the fields that name a record (forms/).
CODE_FIELD = {r: schema.form(r).title[0] for r in ("sites", "poles", "fibre_routes", "zones")}
NAME_FIELDS = {"name"}  # the KML placemark name, as GDAL reads it ("Name")
IGNORED = "-"


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


def specs_for(forms: Forms, communes: dict[str, str]) -> dict[str, SheetSpec]:
    layout = workbook_layout(forms, communes)
    specs = {s.record: s for s in layout}
    specs["sites"] = hand_typed_specs(layout, forms)[0]   # sites learn a "Công nghệ" column
    return specs


def _geometry_keys(kind: str) -> set[str]:
    return {"lat", "lon"} if kind == "point" else {"geom"} if kind in ("line", "polygon") else set()


def _required(spec: SheetSpec, provided: set[str]) -> list[ColumnSpec]:
    return [c for c in spec.columns if c.kind == "field" and c.field.required and c.field.type != "reference"
            and c.key not in provided and c.field.default is None]


def folder_operator(layer: str) -> str | None:
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
    folder_op = folder_operator(g.layer)
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
