"""RouteLayer.apply_update: a route edited, added or deleted redraws only its (method, operator)
groups, and every group then draws what a layer given the edited routes whole draws."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from hatang_desktop.core.map_data import PathLayer, operator_mask
from hatang_desktop.core.map_patch import LayerUpdate
from hatang_desktop.ui.map.layers.base import LayerFilter
from hatang_desktop.ui.map.layers.routes import RouteLayer

OPS = ("VTL", "VNPT", "MBF")
METHODS = ("aerial", "duct", "buried")


def _layer(routes: list[tuple[str, str, str, np.ndarray]]) -> PathLayer:
    """(uuid, operator, method, (n, 2) vertices) -> the layer core.map_data reads."""
    xy = np.concatenate([r[3] for r in routes])
    connect = np.concatenate([np.r_[np.ones(len(r[3]) - 1), 0].astype(np.ubyte) for r in routes])
    feature = np.repeat(np.arange(len(routes)), [len(r[3]) for r in routes])
    attrs = {"operator": np.array([r[1] for r in routes]), "method": np.array([r[2] for r in routes]),
             "op_bits": np.array([operator_mask([r[1]]) for r in routes], dtype=np.int64)}
    return PathLayer(np.array([r[0] for r in routes]), xy[:, 0].copy(), xy[:, 1].copy(), connect, feature, attrs)


def _drawn(layer: RouteLayer) -> dict:
    """Per group: the vertices it draws at full detail and at a zoomed-out level, and its tiles."""
    out = {}
    for key, item in layer.groups.items():
        x, y, c = item._source.subset(item._mask) if item._source is not None else (np.zeros(0),) * 3
        item.prepare_view(300.0)  # a level of detail, built from the item's source
        levels = {lvl: sorted(map(tuple, t.bounds.round(6).tolist())) for lvl, t in item._levels.items()}
        out[key] = (x.tolist(), y.tolist(), np.asarray(c).tolist(),
                    sorted(map(tuple, item.tiles.bounds.round(6).tolist())), levels)
    return out


def test_route_edits_redraw_the_groups_as_the_routes_given_whole_would(qtbot):
    rng = np.random.default_rng(7)
    routes = []
    for i in range(300):
        n = int(rng.integers(2, 150))  # some longer than a tile run (64 vertices)
        start = rng.uniform(0, 200_000, 2)
        xy = start + np.cumsum(rng.normal(0, 300, (n, 2)), axis=0)
        routes.append((f"r{i:04d}", OPS[i % 3], METHODS[(i // 3) % 3], xy))
    layer = RouteLayer()
    layer.set_filter(LayerFilter(operators=frozenset({"VTL", "MBF"})))  # a filter survives the patches
    layer.set_data(SimpleNamespace(routes=_layer(routes)))
    layer.data.simplified(128.0)

    def edit(new_routes, uuids, expect_same_item_tiles):
        nonlocal routes
        add = _layer([r for r in new_routes if r[0] in uuids])
        untouched = {k: it.tiles for k, it in layer.groups.items()}
        layer.apply_update(LayerUpdate(set(uuids), add))
        routes = new_routes
        fresh = RouteLayer()
        fresh.set_filter(layer.filter)
        fresh.set_data(SimpleNamespace(routes=_layer(routes)))
        assert list(layer.data.uuid) == list(fresh.data.uuid)
        assert (layer.shown == fresh.shown).all() and layer.feature_count() == fresh.feature_count()
        assert _drawn(layer) == _drawn(fresh)
        # Groups holding no changed route kept their tiles (not cut again).
        kept = {k for k, it in layer.groups.items() if it.tiles is untouched[k]}
        assert kept >= expect_same_item_tiles

    def moved(r, dx):
        xy = r[3].copy()
        xy[1] += dx
        return (r[0], r[1], r[2], xy)

    groups_of = {r[0]: (r[2], r[1]) for r in routes}
    others = {k for k in RouteLayer().groups} - {groups_of["r0010"]}
    # A vertex moved: the route is written where it is.
    edit([moved(r, 500.0) if r[0] == "r0010" else r for r in routes], {"r0010"}, others)
    # Operator and method changed: the route leaves one group for another.
    edit([(r[0], "MBF", "buried", r[3]) if r[0] == "r0010" else r for r in routes], {"r0010"},
         {k for k in others if k != ("buried", "MBF")})
    # A vertex inserted: spliced in at the route's place.
    edit([(r[0], r[1], r[2], np.insert(r[3], 1, r[3][0] + 50, axis=0)) if r[0] == "r0020" else r for r in routes],
         {"r0020"}, set())
    # A route added and one deleted: dropped and appended.
    new = ("r9999", "VTL", "aerial", np.array([[1_000.0, 1_000.0], [5_000.0, 2_000.0], [9_000.0, 800.0]]))
    edit([r for r in routes if r[0] != "r0030"] + [new], {"r0030", "r9999"}, set())
