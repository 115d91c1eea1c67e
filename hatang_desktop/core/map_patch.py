"""Bringing map layers up to date after a write: read just the records it changed, patch arrays.

`read_map` reads every layer (seconds for the country); after an edit only the records named by
its `core.changes.Changes` are read again (by uuid), and each layer's arrays lose the old rows
and gain the new ones at their end. Headless (no Qt): the UI patches its items from the result.
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


def _attrs(old: dict, keep: np.ndarray, add: dict) -> dict:
    return {k: np.concatenate([old[k][keep], add[k]]) for k in old}


def patched_points(layer: PointLayer | None, drop: np.ndarray | None, add: PointLayer) -> PointLayer:
    """`layer` without the rows `drop` marks, with `add`'s rows at its end."""
    if layer is None or not len(layer):
        return add
    keep = ~drop
    return PointLayer(np.concatenate([layer.uuid[keep], add.uuid]), np.concatenate([layer.x[keep], add.x]),
                      np.concatenate([layer.y[keep], add.y]), _attrs(layer.attrs, keep, add.attrs))


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


__all__ = ["PATCHED", "RELOADED", "LayerUpdate", "read_updates", "drop_mask", "patched_points", "patched_paths"]
