"""Which record types become which GIS layers, and their attribute names.

Attribute names are the workbook's Vietnamese column headers (from forms/*.yaml), so a QGIS user
reads "Chiều cao cột (m)" rather than "height_m", and the import recognises them with the same
header matching as the Excel import. System columns keep short names (UUID, Phiên bản).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import schema
from ..exchange.layout import ColumnSpec, SheetSpec

# Drawing order, top first: points over lines over polygons; QGIS adds a GeoPackage's layers in
# this order, and aspatial tables (tenants, attachments) come last.
LAYER_ORDER = ("sites", "poles", "fibre_routes", "zones", "admin_boundaries", "site_tenants",
               "pole_attachments")
GEOMETRY = {"sites": "Point", "poles": "Point", "fibre_routes": "LineString", "zones": "Polygon",
            "admin_boundaries": "MultiPolygon", "site_tenants": None, "pole_attachments": None}
TITLES = {"admin_boundaries": ("Ranh giới hành chính", "Administrative boundaries")}
SYSTEM_NAMES = {"uuid": schema.field_label("sites", "uuid"), "version": "Phiên bản",
                "updated_at": schema.field_label("sites", "updated_at")}
TENANTS_ATTR = schema.record_label("site_tenants", short=True)  # "Viettel: 2G/3G/4G; MobiFone: 4G" on a site
ATTACHMENTS_ATTR = schema.record_label("pole_attachments", short=True)  # a pole's cables (export only)

BOUNDARY_ATTRS = ("Mã đơn vị", "Tên", "Cấp", "Mã cấp trên", "UUID")
# "Có" on a boundary drawn by a program (the sample's), not surveyed: it travels so that an
# export imports back to the same state (admin_units.boundary_synthetic).
BOUNDARY_SYNTHETIC_ATTR = "Ranh giới mô phỏng"


@dataclass(frozen=True)
class LayerColumn:
    name: str              # the attribute name in the GIS file
    spec: ColumnSpec


def layer_columns(spec: SheetSpec) -> list[LayerColumn]:
    """The attributes of a record type's layer: every form field except what the geometry
    carries (position, WKT), the parent's code for child tables, and the identity columns."""
    out = []
    for c in spec.columns:
        if c.kind == "deleted":
            continue  # only live records are exported
        if c.kind == "field" and (c.key in ("lat", "lon") and GEOMETRY.get(spec.record) == "Point"
                                  or c.field.type == "geometry"):
            continue
        name = SYSTEM_NAMES.get(c.key, c.header("vi")) if c.kind == "system" else c.header("vi")
        out.append(LayerColumn(name, c))
    return out


# The kind of attribute a column is in every export, whatever values this export holds: a commune
# whose heights are all whole metres still gets a real column and one without any GPS accuracy
# still a real one, so month after month of exports append into the same layers (ogr2ogr -append,
# QGIS "Merge vector layers") without an Integer64 column cutting the next file's 30.5 m to 30.
KIND_OF_FIELD = {"decimal": "real", "position": "real", "integer": "integer"}


def declared_kind(c: ColumnSpec) -> str:
    """"real", "integer" or "text" (labels, codes, dates and times are text)."""
    if c.kind == "field":
        return KIND_OF_FIELD.get(c.field.type, "text")
    return "integer" if c.key == "version" else "text"


def layer_title(spec_or_record, lang: str = "vi") -> str:
    if isinstance(spec_or_record, str):
        vi, en = TITLES[spec_or_record]
        return vi if lang == "vi" else en
    return spec_or_record.title(lang)
