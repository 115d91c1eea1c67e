"""Point grids sorted and site looks worked out on the loading worker (layers.prepare_layers)
give the map the same items as the GUI thread building them itself."""

from __future__ import annotations

import numpy as np

from hatang_desktop.core.map_data import read_map
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui.loader import read_database


def items(canvas) -> dict:
    sites, poles = canvas.layers["sites"], canvas.layers["poles"]
    out = {"looks": list(sites._looks), "look": sites._look.copy(), "operators": list(sites._operators),
           "to_verify": sites.to_verify, "sites_shown": sites.shown.copy(), "poles_shown": poles.shown.copy()}
    routes = canvas.layers["routes"]
    out["routes_shown"], out["routes_group"] = routes.shown.copy(), routes._group.copy()
    for k, item in enumerate(routes.groups.values()):
        t = item.tiles
        out[f"route_group_{k}"] = [t.bounds, np.array([p.elementCount() for p in t.paths]), item._mask,
                                   np.array([item._rect.x(), item._rect.y(), item._rect.width(), item._rect.height()])]
    for name, item in (("sites", sites.scatter), ("rings", sites.rings), ("poles", poles.scatter)):
        g = item._grid
        out[name] = [*item._raw, g.x, g.y, g.style, g.priority, g.ids, g.offsets, np.array(g.box)]
    return out


def test_prepared_layers_build_the_same_items(window, qtbot, sample_db_path):
    """`window` opened the sample as the app does (read_database: the worker's preparation);
    a second window is fed read_map's plain data and builds its items itself."""
    from hatang_desktop.ui.main_window import MainWindow

    loaded = read_database(sample_db_path)
    try:
        assert set(loaded.data.prepared) == {"sites", "poles", "routes"}
    finally:
        loaded.db.close()
    fast = window.canvas
    db = Database.open(sample_db_path, readonly=True)
    other = MainWindow()
    qtbot.addWidget(other)
    try:
        other.canvas.set_map(read_map(db))
    finally:
        db.close()
    careful = other.canvas
    a = same_items(fast, careful)
    assert len(a["poles"][0]) > 1000 and len(a["sites"][0]) > 100


def same_items(fast, careful) -> dict:
    """Assert two canvases hold the same items; the first one's items()."""
    a, b = items(fast), items(careful)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], list) and a[key] and isinstance(a[key][0], np.ndarray):
            assert all(np.array_equal(x, y) for x, y in zip(a[key], b[key])), key
        elif isinstance(a[key], np.ndarray):
            assert np.array_equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key
    return a
