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


def test_points_replaced_where_they_are_keep_their_place_in_the_order(qtbot):
    rng = np.random.default_rng(5)
    n = 5_000
    x, y = rng.uniform(0, 10_000, n), rng.uniform(0, 10_000, n)
    style = rng.integers(0, 2, n).astype(np.int32)
    item = PointCloudItem(1)
    item.set_points(x, y, style, style)
    gone, at = np.array([10, 400]), np.array([5, 399, 4_000])
    rx, ry, rs = np.array([-50.0, 5_000.0, 12_000.0]), np.array([3.0, 5_000.0, 9_000.0]), np.array([1, 0, 1], np.int32)
    item.patch(gone, np.array([1.0]), np.array([2.0]), np.array([0], np.int32), np.array([0], np.int32),
               replaced=(at, rx, ry, rs, rs))

    x2, y2, s2 = x.copy(), y.copy(), style.copy()
    x2[at], y2[at], s2[at] = rx, ry, rs
    keep = np.ones(n, bool)
    keep[gone] = False
    fresh = PointCloudItem(1)
    fresh.set_points(np.r_[x2[keep], 1.0], np.r_[y2[keep], 2.0], np.r_[s2[keep], 0], np.r_[s2[keep], 0])
    assert all((a == b).all() for a, b in zip(item._raw, fresh._raw))
    for rect in (QRectF(-100, -100, 12_200, 10_200), QRectF(-60, 0, 20, 10), QRectF(4_990, 4_990, 20, 20),
                 QRectF(11_990, 8_990, 20, 20)):
        assert _found(item, item._grid, rect) == _found(fresh, fresh._grid, rect), rect
    # The old places are empty: nothing drawn where the replaced points were.
    for i in at:
        assert _found(item, item._grid, QRectF(x[i] - 0.01, y[i] - 0.01, 0.02, 0.02)) == []


def test_points_moved_in_place_are_found_where_they_went(qtbot):
    """The fast path of a drag: nothing removed or added, a few points given new places."""
    rng = np.random.default_rng(8)
    n = 30_000
    x, y = rng.uniform(0, 40_000, n), rng.uniform(0, 40_000, n)
    style = rng.integers(0, 2, n).astype(np.int32)
    item = PointCloudItem(1)
    item.set_points(x, y, style, style)
    item._band(300.0)
    at = np.array([0, 17, 29_999])
    rx, ry = np.array([39_000.0, 100.0, 20_000.0]), np.array([100.0, 39_000.0, 20_000.5])
    rs = np.array([1, 0, 1], np.int32)
    item.patch([], np.zeros(0), np.zeros(0), replaced=(at, rx, ry, rs, rs))

    x2, y2, s2 = x.copy(), y.copy(), style.copy()
    x2[at], y2[at], s2[at] = rx, ry, rs
    fresh = PointCloudItem(1)
    fresh.set_points(x2, y2, s2, s2)
    for rect in (QRectF(0, 0, 40_000, 40_000), QRectF(38_900, 0, 200, 200), QRectF(0, 38_900, 200, 200),
                 QRectF(19_000, 19_000, 2_000, 2_000)):
        assert _found(item, item._grid, rect) == _found(fresh, fresh._grid, rect), rect
    assert (np.diff(item._grid.cells) >= 0).all()  # still sorted by cell
    assert (item._grid.offsets == fresh._grid.offsets).all()
    band = item._bands[next(iter(item._bands))]
    shown = set(zip(*(a.tolist() for a in band.query(QRectF(-1, -1, 40_002, 40_002))[:2])))
    assert {(float(a), float(b)) for a, b in zip(rx, ry)} <= shown
    assert not {(float(x[i]), float(y[i])) for i in at} & shown
