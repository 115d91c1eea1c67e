"""Editing surveyed records: save from a form, move, reshape, tombstone, duplicates, history.

Every edit is one transaction (`Database.operation`), so the change log attributes it to one user
action, and returns an `EditResult` naming that operation and what it changed (`core.changes`,
read back from the change log). Undo and redo work on those operations (core/undo.py): the log
holds every old value, so no edit keeps a copy of its own. Rows are never hard-deleted (the
schema refuses), so undoing the creation of a record tombstones it, and redoing brings the same
UUID back.

Values are validated against the form definition (forms/*.yaml) before anything is written: a
save is refused with every problem at once, as (field key, message) pairs; a sub-list row's key is
"site_tenants[2].operator_code".

The package's public API is this module's names; each job lives in its own module: writes.py
(record types, results, errors, the tracked writes), validate.py, reading.py, duplicates.py,
save.py (save and delete), geometry.py (points, lines, polygons, route vertices), history.py,
route_poles.py (the poles a route hangs on, derived from its line in the same operation).
"""

from __future__ import annotations

from .duplicates import DUPLICATE_RADIUS_M, Duplicate, DuplicateFound, find_duplicate_sites
from .geometry import (delete_vertex, insert_vertex, move_point, move_vertex, read_geometry, route_vertices,
                       set_geometry)
from .history import HistoryEntry, record_history
from .reading import commune_at, read_children, read_children_in, read_values, route_near
from .route_poles import poles_of_route
from .save import PhotoEdits, delete_record, save_record
from .validate import defaults, validate
from .writes import (CHILDREN, EDITABLE, GEOMETRY_TABLES, POINT_TABLES, POSITION_DECIMALS, EditConflict, EditResult,
                     StaleEdit, ValidationFailed, edit_result)

__all__ = [
    "EDITABLE", "CHILDREN", "POINT_TABLES", "DUPLICATE_RADIUS_M", "ValidationFailed", "StaleEdit", "EditConflict",
    "Duplicate", "DuplicateFound", "EditResult", "edit_result", "validate",
    "defaults", "PhotoEdits", "read_values", "read_children", "commune_at", "route_near", "find_duplicate_sites", "save_record",
    "move_point", "read_geometry", "set_geometry", "route_vertices", "move_vertex", "insert_vertex",
    "delete_vertex", "delete_record", "poles_of_route", "HistoryEntry", "record_history",
]
