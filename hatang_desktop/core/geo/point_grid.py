"""A grid index over points (numpy only): which points lie within r of a place, without looking
at every point. Snapping asks this on every mouse move over a country's poles and route vertices
(benchmarks/snapping.py), where a scan of every point costs milliseconds per move.

Points are sorted by their cell (column-major key); a query visits the columns its circle spans
and finds each column's run of cells with two binary searches, all columns at once.
"""

from __future__ import annotations

import numpy as np

MAX_COLUMNS = 4096  # a query wider than this many cells scans every point instead (a whole-country view)


class PointGrid:
    def __init__(self, x: np.ndarray, y: np.ndarray, cell: float = 50.0) -> None:
        self.x = np.asarray(x, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.cell = float(cell)
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        self._ok = None if ok.all() else ok
        if len(self.x) and ok.any():
            cx = np.floor(np.where(ok, self.x, 0.0) / self.cell).astype(np.int64)
            cy = np.floor(np.where(ok, self.y, 0.0) / self.cell).astype(np.int64)
            self.cx0, self.cy0 = int(cx[ok].min()), int(cy[ok].min())
            self.rows = int(cy[ok].max()) - self.cy0 + 1
            self.columns = int(cx[ok].max()) - self.cx0 + 1
            key = (cx - self.cx0) * self.rows + (cy - self.cy0)
            key[~ok] = -1  # never inside a query's range
            self.order = np.argsort(key, kind="stable")
            self.keys = key[self.order]
        else:
            self.cx0 = self.cy0 = self.rows = self.columns = 0
            self.order = np.zeros(0, np.int64)
            self.keys = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.x)

    def within(self, x: float, y: float, r: float) -> np.ndarray:
        """Indices of the points within distance r of (x, y)."""
        if not len(self.keys) or not r >= 0:
            return np.zeros(0, np.int64)
        c0 = max(int(np.floor((x - r) / self.cell)) - self.cx0, 0)
        c1 = min(int(np.floor((x + r) / self.cell)) - self.cx0, self.columns - 1)
        r0 = max(int(np.floor((y - r) / self.cell)) - self.cy0, 0)
        r1 = min(int(np.floor((y + r) / self.cell)) - self.cy0, self.rows - 1)
        if c0 > c1 or r0 > r1:
            return np.zeros(0, np.int64)
        if c1 - c0 + 1 > MAX_COLUMNS:
            candidates = np.arange(len(self.x)) if self._ok is None else np.flatnonzero(self._ok)
        else:
            cols = np.arange(c0, c1 + 1, dtype=np.int64) * self.rows
            lo = np.searchsorted(self.keys, cols + r0, side="left")
            hi = np.searchsorted(self.keys, cols + r1, side="right")
            runs = [self.order[a:b] for a, b in zip(lo.tolist(), hi.tolist()) if b > a]
            if not runs:
                return np.zeros(0, np.int64)
            candidates = np.concatenate(runs)
        d2 = (self.x[candidates] - x) ** 2 + (self.y[candidates] - y) ** 2
        return candidates[d2 <= r * r]

    def nearest(self, x: float, y: float, r: float, mask: np.ndarray | None = None) -> tuple[int, float] | None:
        """(index, distance) of the nearest point within r for which `mask` (per point) is true, or None."""
        idx = self.within(x, y, r)
        if mask is not None and len(idx):
            idx = idx[mask[idx]]
        if not len(idx):
            return None
        d = np.hypot(self.x[idx] - x, self.y[idx] - y)
        k = int(np.argmin(d))
        return int(idx[k]), float(d[k])


def linear_nearest(x_arr: np.ndarray, y_arr: np.ndarray, x: float, y: float, r: float,
                   mask: np.ndarray | None = None) -> tuple[int, float] | None:
    """The same answer as PointGrid.nearest by looking at every point (the benchmark's yardstick)."""
    d = np.hypot(x_arr - x, y_arr - y)
    if mask is not None:
        d = np.where(mask, d, np.inf)
    if not len(d):
        return None
    k = int(np.argmin(d))
    return (k, float(d[k])) if d[k] <= r else None
