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


@dataclass
class PathPatch:
    """How a line or area layer took an update. `same_rows`: every changed feature is still on
    the map and kept its index (an edited route, not a new or deleted one), so items drawing
    other features need nothing; `layer` may then be the layer given, written in place.
    `before`: the changed features' attributes as they were (old indices `rows`)."""
    layer: PathLayer
    same_rows: bool
    rows: np.ndarray
    before: dict[str, np.ndarray]


def _feature_runs(layer: PathLayer, features: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(start, end) vertex indices of each of `features` (ascending), or None when their
    vertices are not contiguous runs in that order."""
    vf = layer.vertex_feature
    if _in_order(layer):  # the usual layout: two binary searches per feature, no pass over 930k
        starts, ends = np.searchsorted(vf, features, "left"), np.searchsorted(vf, features, "right")
        return (starts, ends) if (ends > starts).all() else None
    at = np.flatnonzero(np.isin(vf, features))
    if not len(at):
        return None
    vf = layer.vertex_feature[at]
    cut = np.flatnonzero((np.diff(at) != 1) | (np.diff(vf) != 0)) + 1
    starts, ends = at[np.r_[0, cut]], at[np.r_[cut - 1, len(at) - 1]] + 1
    if len(starts) != len(features) or (layer.vertex_feature[starts] != features).any():
        return None
    return starts, ends


def _in_order(layer: PathLayer) -> bool:
    """The vertices come feature after feature in index order (as read, and as patched here).
    Found once per layer and carried by the patches, which keep that order."""
    known = layer.__dict__.get("_in_order")
    if known is None:
        vf = layer.vertex_feature
        known = layer._in_order = bool((vf[1:] >= vf[:-1]).all())
    return known


def _rewritten(layer: PathLayer, features: np.ndarray, add: PathLayer, rows: np.ndarray) -> PathLayer | None:
    """`layer` with the vertices of `features` (ascending) replaced by those of `add`'s `rows`
    (same order), at the same place: written in place when every feature keeps its vertex count
    and part ends, else spliced into new arrays. None when the vertices are not laid out as
    runs per feature (the caller falls back to dropping and appending)."""
    runs = _feature_runs(layer, features)
    if runs is None or len(add.x) == 0:
        return None
    starts, ends = runs
    add_runs = _feature_runs(add, rows) if not (rows[1:] < rows[:-1]).any() else None
    if add_runs is None:  # the reader's order differs from ours: gather per feature
        pieces = [np.flatnonzero(add.vertex_feature == r) for r in rows]
        if any(not len(p) for p in pieces):
            return None
        take = np.concatenate(pieces)
        counts = np.array([len(p) for p in pieces])
    else:
        take = np.concatenate([np.arange(a, b) for a, b in zip(*add_runs)])
        counts = add_runs[1] - add_runs[0]
    x, y, connect = add.x[take], add.y[take], add.connect[take]
    if ((ends - starts) == counts).all():
        at = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
        if (layer.connect[at] == connect).all():
            layer.x[at], layer.y[at] = x, y
            return layer
    offsets = np.r_[0, np.cumsum(counts)]
    pieces_x, pieces_y, pieces_c, pieces_f = [], [], [], []
    prev = 0
    for k, (a, b) in enumerate(zip(starts, ends)):
        o, p = offsets[k], offsets[k + 1]
        pieces_x += [layer.x[prev:a], x[o:p]]
        pieces_y += [layer.y[prev:a], y[o:p]]
        pieces_c += [layer.connect[prev:a], connect[o:p]]
        pieces_f += [layer.vertex_feature[prev:a], np.full(p - o, features[k], layer.vertex_feature.dtype)]
        prev = b
    pieces_x.append(layer.x[prev:])
    pieces_y.append(layer.y[prev:])
    pieces_c.append(layer.connect[prev:])
    pieces_f.append(layer.vertex_feature[prev:])
    out = PathLayer(layer.uuid, np.concatenate(pieces_x), np.concatenate(pieces_y), np.concatenate(pieces_c),
                    np.concatenate(pieces_f), layer.attrs)
    out._in_order = layer.__dict__.get("_in_order")
    return out


def _edited_in_place(layer: PathLayer, drop: np.ndarray, add: PathLayer) -> PathPatch | None:
    """The changed features all still there (same uuids): their vertices rewritten where they
    are, their attributes over their rows; the levels of detail likewise, one feature simplified
    instead of the country. Moving a vertex of one route rewrites two numbers, not 930k."""
    features = np.flatnonzero(drop)
    if len(features) != len(add) or not len(features):
        return None
    row_of = {str(u): j for j, u in enumerate(add.uuid)}
    rows = np.array([row_of.get(str(u), -1) for u in layer.uuid[features]], dtype=np.int64)
    if (rows < 0).any() or set(layer.attrs) != set(add.attrs):
        return None
    out = _rewritten(layer, features, add, rows)
    if out is None:
        return None
    levels = {}
    # list(): a loading worker may still be adding finer levels (core.map_data.prepare_levels).
    for tol, simple in list((getattr(layer, "_simplified", None) or {}).items()):
        if simple is layer:
            continue
        level = _rewritten(simple, features, add.simplified(tol), rows)
        if level is None:  # cannot happen for a level made from `layer`; be safe all the same
            return None  # what was written in place so far is only the dropped features' vertices
        levels[tol] = level
    before = {k: v[features] for k, v in layer.attrs.items()}
    for key, values in layer.attrs.items():  # shared with the levels: one write serves them all
        new = add.attrs[key]
        if values.dtype.kind == "U" and new.dtype.itemsize > values.dtype.itemsize:
            values = layer.attrs[key] = values.astype(new.dtype)  # a longer code than any before
        values[features] = new[rows]
    if out is not layer:
        out.attrs = layer.attrs
    for tol, level in levels.items():
        level.attrs = layer.attrs
    out._simplified = levels  # a level that is the layer itself is made again on demand
    bounds = getattr(layer, "_bounds", None)
    if bounds is not None:
        bounds[features] = add.feature_bounds()[rows]
        out._bounds = bounds
    return PathPatch(out, True, features, before)


def patch_paths(layer: PathLayer | None, drop: np.ndarray, add: PathLayer) -> PathPatch:
    """Bring `layer` up to date with `add` (the records of the rows `drop` marks still on the
    map). Edited features keep their rows (see `_edited_in_place`); otherwise (a feature added
    or deleted) the dropped rows go and `add`'s come at the end (`patched_paths`)."""
    if layer is not None and len(layer):
        done = _edited_in_place(layer, drop, add)
        if done is not None:
            return done
    rows = np.flatnonzero(drop) if layer is not None and len(layer) else np.zeros(0, np.int64)
    before = {k: v[rows] for k, v in layer.attrs.items()} if layer is not None and len(layer) else {}
    return PathPatch(patched_paths(layer, drop, add), False, rows, before)


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
                       for tol, simple in list(cache.items()) if simple is not layer}
    bounds = getattr(layer, "_bounds", None)
    if bounds is not None:
        out._bounds = np.concatenate([bounds[keep], add.feature_bounds()])
    return out


__all__ = ["PATCHED", "RELOADED", "LayerUpdate", "PointPatch", "PathPatch", "read_updates", "drop_mask",
           "patch_points", "patch_paths", "patched_paths"]
