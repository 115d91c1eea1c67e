"""PointCloudItem.patch: points taken out and added in place answer every view as the same points
set anew would (the grid's cells, order and bounds), and a thinned copy loses and gains them too."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF

from hatang_desktop.ui.map.points import PointCloudItem


def _found(item, grid, rect):
    x, y, style, priority = grid.query(rect)
    return sorted(zip(x.tolist(), y.tolist(), style.tolist(), priority.tolist()))


def test_a_patched_cloud_answers_views_like_one_built_anew(qtbot):
    rng = np.random.default_rng(3)
    n = 20_000
    x, y = rng.uniform(0, 50_000, n), rng.uniform(0, 30_000, n)
    style, priority = rng.integers(0, 3, n).astype(np.int32), rng.integers(0, 2, n).astype(np.int32)
    item = PointCloudItem(1)
    item.set_points(x, y, style, priority)
    band = item._band(200.0)  # a thinned copy made before the edit
    assert band.n < n

    gone = rng.choice(n, 25, replace=False)
    # New points inside and outside the old extent (an edit can place a site beyond the others).
    ax = np.r_[rng.uniform(0, 50_000, 10), -2_000.0, 61_000.0]
    ay = np.r_[rng.uniform(0, 30_000, 10), 5_000.0, 40_000.0]
    astyle, aprio = rng.integers(0, 3, 12).astype(np.int32), rng.integers(0, 2, 12).astype(np.int32)
    item.patch(gone, ax, ay, astyle, aprio)

    keep = np.ones(n, bool)
    keep[gone] = False
    fresh = PointCloudItem(1)
    fresh.set_points(np.r_[x[keep], ax], np.r_[y[keep], ay], np.r_[style[keep], astyle], np.r_[priority[keep], aprio])
    assert len(item) == len(fresh) == n - 25 + 12
    assert all((a == b).all() for a, b in zip(item._raw, fresh._raw))
    for rect in (QRectF(0, 0, 50_000, 30_000), QRectF(1_000, 2_000, 3_000, 1_500), QRectF(-3_000, 4_000, 2_000, 2_000),
                 QRectF(60_000, 39_000, 2_000, 2_000), QRectF(-9_000, -9_000, 1_000, 1_000)):
        assert _found(item, item._grid, rect) == _found(fresh, fresh._grid, rect), rect
    # Within a cell the points keep their drawing order: priority, then data order.
    q = item._grid.query(QRectF(0, 0, 50_000, 30_000))
    assert len(q[0]) == n - 25 + 10
    assert item.boundingRect().contains(61_000.0, 40_000.0) and item.boundingRect().contains(-2_000.0, 5_000.0)

    patched_band = item._bands[next(iter(item._bands))]
    everything = QRectF(-10_000, -10_000, 80_000, 60_000)
    shown = set(zip(*(a.tolist() for a in patched_band.query(everything)[:2])))
    assert {(float(a), float(b)) for a, b in zip(ax, ay)} <= shown
    assert not {(float(x[i]), float(y[i])) for i in gone} & shown
