"""Value lists of the domain by name, as the rest of the core and the UI use them.

The codes and labels come from forms/value_lists.yaml (one source of truth); the closed lists
there are the enumerations the database CHECK constraints enforce (a test keeps them in step).
"""

from __future__ import annotations

from .value_lists import Choice, value_lists

_LISTS = value_lists()


def _choices(name: str) -> tuple[Choice, ...]:
    return _LISTS[name].choices


def codes(choices: tuple[Choice, ...]) -> tuple[str, ...]:
    return tuple(c.code for c in choices)


def label(choices: tuple[Choice, ...], code: str, lang: str = "vi") -> str:
    for c in choices:
        if c.code == code:
            return c.label(lang)
    return code


ADMIN_LEVELS = _choices("admin_levels")
TOWER_TYPES = _choices("tower_types")
SITE_STATUSES = _choices("site_statuses")
TECHNOLOGIES = codes(_choices("technologies"))
POLE_OWNERS = _choices("pole_owners")
POLE_MATERIALS = _choices("pole_materials")
CABLE_TYPES = _choices("cable_types")
CABLE_CONDITIONS = _choices("cable_conditions")
CABLE_SITUATIONS = _choices("cable_situations")
LAYING_METHODS = _choices("laying_methods")
ROUTE_LEVELS = _choices("route_levels")
ZONE_KINDS = _choices("zone_kinds")
SEVERITIES = _choices("severities")
FINDING_STATUSES = _choices("finding_statuses")

INDUSTRIAL_ZONE_KINDS = ("industrial_park", "industrial_cluster", "economic_zone")

# The surveyed record types, as table names: they carry sync identity and travel in workbooks.
SURVEYED_TABLES = (
    "admin_units", "sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones",
    "findings", "photos",
)
