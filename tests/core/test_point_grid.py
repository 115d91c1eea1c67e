"""The grid index snapping looks points up in: the same answers as looking at every point."""

from __future__ import annotations

import numpy as np
import pytest

from hatang_desktop.core.geo.point_grid import PointGrid, linear_nearest


@pytest.mark.parametrize("cell", [7.0, 50.0, 400.0])
def test_within_and_nearest_agree_with_a_scan_of_every_point(cell):
    rng = np.random.default_rng(3)
    x = rng.uniform(-5000, 5000, 20000)
    y = rng.uniform(1e6, 1.01e6, 20000)
    grid = PointGrid(x, y, cell)
    mask = rng.random(20000) < 0.7
    for _ in range(300):
        qx, qy, r = rng.uniform(-5200, 5200), rng.uniform(1e6 - 200, 1.01e6 + 200), rng.uniform(0, 300)
        got = np.sort(grid.within(qx, qy, r))
        want = np.flatnonzero(np.hypot(x - qx, y - qy) <= r)
        assert np.array_equal(got, want)
        assert grid.nearest(qx, qy, r, mask) == linear_nearest(x, y, qx, qy, r, mask)


def test_empty_and_missing_points():
    assert PointGrid(np.zeros(0), np.zeros(0)).nearest(0, 0, 10) is None
    grid = PointGrid(np.array([0.0, np.nan, 30.0]), np.array([0.0, 5.0, 0.0]), 10)
    assert grid.nearest(1, 4, 10) == (0, pytest.approx(np.hypot(1, 4)))
    assert grid.nearest(29, 0, 5)[0] == 2 and grid.nearest(15, 0, 5) is None


def test_a_query_wider_than_the_grid_scans_every_point():
    x = np.arange(10000, dtype=float) * 10.0
    grid = PointGrid(x, np.zeros_like(x), cell=1.0)
    assert len(grid.within(50000.0, 0.0, 60000.0)) == 10000
