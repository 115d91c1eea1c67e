"""What snapping costs a mouse move at national scale (offscreen; a benchmark, not a test).

    python benchmarks/snapping.py [BIG.db] [--moves 400]

BIG.db defaults to /tmp/hatang_national.db (`hatang sample BIG.db --province all --sites 120000
--seed 1`, built when missing: 120,000 sites, 504,000 poles, ~30,000 routes with ~930,000
vertices). The map canvas holds the whole database as the app does; the editing Snapper then
answers "what is within 12 px of the pointer" for pointers scattered a few pixels around random
poles, sites and route vertices, at a street (1 m/px), a district (10 m/px) and the widest scale
poles are drawn and snapping works at (39 m/px). Printed per scale: the median and 95th
percentile of one lookup through the grid index, and the same lookups with every layer scanned
point by point (the linear scan the index replaces), measured in the same run; and the time to
index each layer (on a worker thread after each change of the map's data; moves meanwhile scan).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SCALES = (1.0, 10.0, 39.0)  # metres per pixel (snapping stops beyond 40)


def pointers(data, n: int, mpp: float, rng) -> list[tuple[float, float]]:
    """n pointer places: each a few pixels (up to 15) from a random pole, site or route vertex."""
    out = []
    layers = [data.poles, data.sites, data.routes]
    for k in range(n):
        layer = layers[k % 3]
        i = int(rng.integers(len(layer.x)))
        dx, dy = rng.uniform(-15, 15, 2) * mpp
        out.append((float(layer.x[i] + dx), float(layer.y[i] + dy)))
    return out


def timed(snapper, places) -> tuple[list[float], list]:
    times, found = [], []
    for x, y in places:
        t = time.perf_counter()
        target = snapper.find(x, y)
        times.append((time.perf_counter() - t) * 1e3)
        found.append(target)
    return times, found


def main(argv=None) -> int:
    import argparse
    import tempfile

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.core.geo import point_grid
    from hatang_desktop.core.map_data import read_map
    from hatang_desktop.core.storage.database import Database
    from hatang_desktop.ui.editing import snapping
    from hatang_desktop.ui.map.canvas import MapCanvas

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", nargs="?", default="/tmp/hatang_national.db")
    parser.add_argument("--moves", type=int, default=400)
    args = parser.parse_args(argv)
    if not Path(args.db).exists():
        hatang = Path(sys.executable).with_name("hatang")
        subprocess.run([str(hatang), "sample", args.db, "--province", "all", "--sites", "120000", "--seed", "1"],
                       check=True, capture_output=True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance() or QApplication([])
    with Database.open(Path(args.db), readonly=True) as db:
        data = read_map(db)
    canvas = MapCanvas()
    canvas.resize(1200, 800)
    canvas.show()
    canvas.set_map(data)
    app.processEvents()
    snapper = snapping.Snapper(canvas)
    print(f"{args.db}: {len(data.poles):,} poles, {len(data.sites):,} sites, "
          f"{len(data.routes):,} routes ({len(data.routes.x):,} vertices); {args.moves} pointer moves per scale")

    builds = {}
    for key in snapping.LAYERS:
        layer = canvas.layers[key].data
        t = time.perf_counter()
        point_grid.PointGrid(layer.x, layer.y, snapping.GRID_CELL_M)
        builds[key] = (time.perf_counter() - t) * 1e3
    print("indexing a layer (on a worker thread, after each change): "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in builds.items()))

    def ready() -> None:
        """Lookups until every layer's index has come back from its worker thread."""
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            for key in snapping.LAYERS:
                snapper._grid(key)
            if not snapper._jobs:
                return
            time.sleep(0.01)
        raise RuntimeError("the snap index never came")

    t = time.perf_counter()
    ready()
    print(f"first use: lookups scan until the worker threads' indexes are in, {time.perf_counter() - t:.2f} s "
          "later (the same after each edit)")

    grid_lookup = snapper._grid

    def scan_lookup(key):
        data = canvas.layers[key].data
        return data, snapping.ScanIndex(data.x, data.y)

    rng = np.random.default_rng(1)
    print(f"{'m/px':>6} | {'grid index: median / p95':>26} | {'linear scan: median / p95':>27} | same answers")
    for mpp in SCALES:
        places = pointers(data, args.moves, mpp, rng)
        cx, cy = places[0]
        half_w, half_h = 600 * mpp, 400 * mpp
        canvas.view.setRange(xRange=(cx - half_w, cx + half_w), yRange=(cy - half_h, cy + half_h), padding=0)
        app.processEvents()
        snapper._grid = grid_lookup
        grid_ms, grid_found = timed(snapper, places)
        snapper._grid = scan_lookup
        linear_ms, linear_found = timed(snapper, places)
        snapper._grid = grid_lookup
        same = sum((a is None and b is None) or (a is not None and b is not None and a.uuid == b.uuid)
                   for a, b in zip(grid_found, linear_found))
        hits = sum(a is not None for a in grid_found)

        def stats(ms):
            return f"{statistics.median(ms):.3f} / {np.percentile(ms, 95):.3f} ms"
        print(f"{canvas.metres_per_pixel():6.1f} | {stats(grid_ms):>26} | {stats(linear_ms):>27} | "
              f"{same}/{len(places)} ({hits} snapped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
