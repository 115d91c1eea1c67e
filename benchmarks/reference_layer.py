"""What a large reference layer costs a map frame (offscreen; a benchmark, not a test).

    python benchmarks/reference_layer.py [SAMPLE.db] [--features 100000] [--size 1200x800]

SAMPLE.db defaults to /tmp/hatang_province_labels.db (the Hà Tĩnh sample, built with `hatang
sample` when missing). A GeoPackage of FEATURES road lines (6 to 12 vertices each, spread over
the province's extent, as GDAL writes it) is added as a reference layer; then, at the whole
province, an 8 km working view and a 2 km view, it prints the median frame (a pan with all it
triggers, then a full paint of the canvas) with the reference layer on, and the survey layers'
frame alone (reference off) measured in the same run, alternating. It also prints how long the
file takes to read and to draw the first time, and the longest the window stopped handling
events while the file was added (a 10 ms heartbeat timer's largest gap: the freeze a user feels).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from map_render import REPEATS, frame, open_window  # noqa: E402  (the same frame as the map benchmark)


def write_roads(path: Path, bounds, n: int, seed: int = 21) -> None:
    import geopandas as gpd
    import numpy as np
    import pyogrio
    import shapely

    from hatang_desktop.core.geo.projection import mercator_to_lonlat

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    counts = rng.integers(6, 13, n)
    start_x, start_y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    heading = rng.uniform(0, 2 * np.pi, n)
    index = np.repeat(np.arange(n), counts)
    step = np.arange(len(index)) - np.repeat(np.cumsum(counts) - counts, counts)
    turn = np.cumsum(rng.normal(0, 0.3, len(index)))
    x = start_x[index] + step * 60 * np.cos(heading[index] + turn * 0.2)
    y = start_y[index] + step * 60 * np.sin(heading[index] + turn * 0.2)
    lon, lat = mercator_to_lonlat(x, y)
    lines = shapely.linestrings(np.column_stack([lon, lat]), indices=index)
    frame = gpd.GeoDataFrame({"ten": [f"ĐH.{i:05d}" for i in range(n)], "cap": rng.integers(1, 5, n)},
                             geometry=lines, crs=4326)
    pyogrio.write_dataframe(frame, path, layer="duong", driver="GPKG")


def add_with_heartbeat(app, window, path: Path) -> tuple[float, float]:
    """Tệp > Thêm lớp tham chiếu… on `path`, a 10 ms timer ticking meanwhile: (seconds until the
    layer is drawn, the largest gap between ticks, i.e. the longest the window was frozen)."""
    from PySide6.QtCore import QTimer

    gaps, last = [0.0], [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.timeout.connect(beat)
    heartbeat.start(10)
    app.processEvents()
    t = last[0] = time.perf_counter()
    assert window.references.add_file(path)
    while path.stem not in window.references.map.drawn and time.perf_counter() - t < 120:
        app.processEvents()
        time.sleep(0.002)
    added = time.perf_counter() - t
    for _ in range(5):  # the ticks after the layer was drawn close the last gap
        app.processEvents()
        time.sleep(0.01)
    heartbeat.stop()
    beat()
    return added, max(gaps)


def main(argv=None) -> int:
    import argparse

    from PySide6.QtGui import QImage

    from hatang_desktop.core import reflayers

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", nargs="?", default="/tmp/hatang_province_labels.db")
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--size", default="1200x800")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    if not Path(args.db).exists():
        hatang = Path(sys.executable).with_name("hatang")
        subprocess.run([str(hatang), "sample", args.db], check=True, capture_output=True)
    work = Path(tempfile.mkdtemp())
    db_path = work / "sample.db"
    db_path.write_bytes(Path(args.db).read_bytes())
    app, window = open_window(db_path, size)
    canvas = window.canvas
    e = canvas._extent
    roads = work / "duong.gpkg"
    t = time.perf_counter()
    write_roads(roads, (e.min_x, e.min_y, e.max_x, e.max_y), args.features)
    written = time.perf_counter() - t
    t = time.perf_counter()
    opened = reflayers.open_file(roads, None, reflayers.RefLayer("duong", str(roads)))
    read = time.perf_counter() - t
    vertices = len(opened.vector.lines.x)
    added, block = add_with_heartbeat(app, window, roads)
    canvas.setUpdatesEnabled(False)
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    print(f"{args.db}: canvas {canvas.width()}x{canvas.height()}; {args.features:,} reference lines, {vertices:,} "
          f"vertices; GeoPackage written in {written:.1f} s, read in {read:.2f} s, added (read + saved + "
          f"drawn) in {added:.2f} s; longest GUI block while adding {block * 1000:.0f} ms")
    print(f"medians of {REPEATS} pans, reference on | off alternating; 2 shared CPUs, noisy")
    cx, cy = (e.min_x + e.max_x) / 2, (e.min_y + e.max_y) / 2

    def reference(on: bool) -> None:
        drawn = window.references.map.drawn["duong"]
        drawn.restyle(replace(drawn.entry, visible=on))

    rows = []
    for name, half in (("whole province", None), ("working view 8 km", 4000.0), ("1:5,000-ish 2 km", 1000.0)):
        if half is None:
            canvas.zoom_full()
        else:
            canvas.view.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
        # Every level of detail built and the layer's image for the level (zoomed out) or for
        # the view (closer in) drawn on its worker before timing: how long that first view
        # waited for it is printed too.
        lines = window.references.map.drawn["duong"].lines
        t = time.perf_counter()
        frame(app, canvas, image, lambda: None)
        while (lines._image_pending or lines._view_pending) and time.perf_counter() - t < 60:
            app.processEvents()
            time.sleep(0.01)
        first = time.perf_counter() - t
        for shown in (False, True):
            reference(shown)
            for _ in range(3):
                frame(app, canvas, image, lambda: None)
        span = canvas.view_extent().max_x - canvas.view_extent().min_x
        on, off = [], []
        for i in range(REPEATS):
            d = span / 20 if i % 2 == 0 else -span / 20
            for shown, out in ((True, on), (False, off)) if i % 2 == 0 else ((False, off), (True, on)):
                reference(shown)
                frame(app, canvas, image, lambda: None)
                out.append(frame(app, canvas, image, lambda d=d: canvas.view.translateBy(x=d)))
        rows.append((name, canvas.metres_per_pixel(), statistics.median(on), statistics.median(off), first))
    print("view | m/px | frame with reference ms | survey layers alone (same run) ms | ratio | first view ready s")
    for name, mpp, on, off, first in rows:
        print(f"{name} | {mpp:.1f} | {on:.1f} | {off:.1f} | {on / off:.2f}x | {first:.2f}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
