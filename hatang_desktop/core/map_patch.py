"""Bringing map layers up to date after a write: read just the records it changed, patch arrays.

`read_map` reads every layer (seconds for the country); after an edit only the records named by
its `core.changes.Changes` are read again (by uuid). A point layer writes a record still on the
map over its old row and removes or appends the others; a line or area layer drops the old rows
and appends the new ones. Headless (no Qt): the UI patches its items from the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .changes import Changes
from .map_data import (PathLayer, PointLayer, read_boundaries, read_commune_labels, read_findings, read_poles,
                       read_routes, read_sites, read_villages, read_zones)
from .storage.database import Database

# MapData field -> (the table it draws, its reader taking uuids)
PATCHED = {"sites": ("sites", read_sites), "poles": ("poles", read_poles), "findings": ("findings", read_findings),
           "routes": ("fibre_routes", read_routes), "zones": ("zones", read_zones)}
# Admin units are read whole when they change (a boundary import): they are not edited one by one.
RELOADED = {"boundaries": read_boundaries, "commune_labels": read_commune_labels, "villages": read_villages}


@dataclass
class LayerUpdate:
    """One layer's part of an update: `drop` the rows of these uuids, then append `add` (the
    changed records that are still on the map, as the layer's reader gives them)."""
    uuids: set[str]
    add: PointLayer | PathLayer


def read_updates(db: Database, changes: Changes) -> tuple[dict[str, LayerUpdate], dict]:
    """(MapData field -> LayerUpdate for the patched layers a change touches, MapData field ->
    whole layer for the admin layers re-read)."""
    updates = {}
    for key, (table, reader) in PATCHED.items():
        uuids = changes.touched(table)
        if uuids:
            updates[key] = LayerUpdate(set(uuids), reader(db, uuids))
    reloaded = {key: reader(db) for key, reader in RELOADED.items()} if "admin_units" in changes.tables else {}
    return updates, reloaded


def drop_mask(uuid: np.ndarray, uuids: set[str]) -> np.ndarray:
    """Per row: its uuid is among `uuids`."""
    if not len(uuid) or not uuids:
        return np.zeros(len(uuid), bool)
    return np.isin(uuid, np.array(sorted(uuids)))


@dataclass
class PointPatch:
    """How a point layer took an update. Old rows `gone` (bool) were removed; old rows `replaced`
    (indices before the removal) now hold `add`'s rows `replaced_rows`, in place; `add`'s rows
    `appended` came at the end. `layer` is the layer now (the same object when nothing was
    removed or appended: its arrays were written in place)."""
    layer: PointLayer
    gone: np.ndarray
    replaced: np.ndarray
    replaced_rows: np.ndarray
    appended: np.ndarray
    before: dict[str, np.ndarray]  # the replaced rows' attributes as they were


def patch_points(layer: PointLayer | None, uuids: set[str], add: PointLayer) -> PointPatch:
    """Bring `layer` up to date with `add` (the records of `uuids` still on the map). A record
    still there is written over its old row: no copy of the layer's 120,000 uuids for a move."""
    empty = np.zeros(0, np.int64)
    if layer is None or not len(layer):
        return PointPatch(add, np.zeros(0, bool), empty, empty, np.arange(len(add)), {})
    touched = np.flatnonzero(drop_mask(layer.uuid, uuids))
    row_of = {str(u): j for j, u in enumerate(add.uuid)}
    rows = np.array([row_of.get(str(u), -1) for u in layer.uuid[touched]], dtype=np.int64)
    replaced, replaced_rows = touched[rows >= 0], rows[rows >= 0]
    gone = np.zeros(len(layer), bool)
    gone[touched[rows < 0]] = True
    appended = np.setdiff1d(np.arange(len(add)), replaced_rows)
    before = {k: v[replaced] for k, v in layer.attrs.items()}
    layer.x[replaced] = add.x[replaced_rows]
    layer.y[replaced] = add.y[replaced_rows]
    for key, values in layer.attrs.items():
        new = add.attrs[key]
        if values.dtype.kind == "U" and new.dtype.itemsize > values.dtype.itemsize:
            values = layer.attrs[key] = values.astype(new.dtype)  # a longer code than any before
        values[replaced] = new[replaced_rows]
    if not gone.any() and not len(appended):
        return PointPatch(layer, gone, replaced, replaced_rows, appended, before)
    keep = ~gone
    take = (lambda a: a[keep]) if gone.any() else (lambda a: a)
    out = PointLayer(appended_to(take(layer.uuid), add.uuid[appended]),
                     appended_to(take(layer.x), add.x[appended]), appended_to(take(layer.y), add.y[appended]),
                     {k: appended_to(take(v), add.attrs[k][appended]) for k, v in layer.attrs.items()})
    return PointPatch(out, gone, replaced, replaced_rows, appended, before)


def appended_to(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a` then `b`, as a view of a buffer with room to spare: a site added to 120,000 writes one
    row into the room left by the last append instead of copying every uuid (36-character
    strings, 17 MB). The view given before stays as it was (rows past its end are not its own)."""
    n, k = len(a), len(b)
    base = a.base
    if (base is not None and base.ndim == 1 and base.dtype == a.dtype and base.dtype.itemsize >= b.dtype.itemsize
            and a.ndim == 1 and a.strides == base.strides and len(base) >= n + k
            and a.__array_interface__["data"][0] == base.__array_interface__["data"][0]):
        base[n:n + k] = b
        return base[:n + k]
    buffer = np.empty(n + k + max(64, n // 16), dtype=np.result_type(a, b))
    buffer[:n] = a
    buffer[n:n + k] = b
    return buffer[:n + k]


def _attrs(old: dict, keep: np.ndarray, add: dict) -> dict:
    return {k: np.concatenate([old[k][keep], add[k]]) for k in old}


def _patched_paths(layer: PathLayer, keep: np.ndarray, add: PathLayer) -> PathLayer:
    vkeep = keep[layer.vertex_feature]
    renumber = np.cumsum(keep) - 1  # old feature index -> index among the kept
    kept = int(keep.sum())
    return PathLayer(np.concatenate([layer.uuid[keep], add.uuid]), np.concatenate([layer.x[vkeep], add.x]),
                     np.concatenate([layer.y[vkeep], add.y]), np.concatenate([layer.connect[vkeep], add.connect]),
                     np.concatenate([renumber[layer.vertex_feature[vkeep]], add.vertex_feature + kept]),
                     _attrs(layer.attrs, keep, add.attrs))


def patched_paths(layer: PathLayer | None, drop: np.ndarray | None, add: PathLayer) -> PathLayer:
    """`layer` without the features `drop` marks, with `add`'s at its end. The simplified copies
    already made (levels of detail) and the feature bounds are patched the same way, so a
    zoomed-out view after an edit does not simplify the country's routes again."""
    if layer is None or not len(layer):
        return add
    keep = ~drop
    out = _patched_paths(layer, keep, add)
    cache = getattr(layer, "_simplified", None) or {}
    out._simplified = {tol: _patched_paths(simple, keep, add.simplified(tol))
                       for tol, simple in cache.items() if simple is not layer}
    bounds = getattr(layer, "_bounds", None)
    if bounds is not None:
        out._bounds = np.concatenate([bounds[keep], add.feature_bounds()])
    return out


__all__ = ["PATCHED", "RELOADED", "LayerUpdate", "PointPatch", "read_updates", "drop_mask", "patch_points",
           "patched_paths"]
