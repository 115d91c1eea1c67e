"""Map canvas speed at national and province scale (offscreen; a benchmark, not a test).

    python benchmarks/map_render.py [BIG.db] [--province PROVINCE.db] [--size 1200x800]

BIG.db defaults to /tmp/hatang_big.db and is built when missing (`hatang sample --province all
--sites 120000`: ~500k poles, ~1M route vertices; 3-4 minutes). The province database defaults to
/tmp/hatang_province.db (the Hà Tĩnh sample, 3,600 sites; built when missing).

For each database it prints: time to first full render (read + build the items + paint), median
re-render after a pan and after a zoom (targets <= 30 ms), identify at a point (target <= 50 ms),
and the process's resident memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPEATS = 15


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ensure(path: Path, *args: str) -> None:
    if path.exists():
        return
    print(f"building {path} (hatang sample {' '.join(args)}) ...", flush=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hatang_desktop.cli", "sample", str(path), *args], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)


def render(canvas, image, painter_cls) -> float:
    """Paint the whole canvas into an image, as a screen refresh would; returns milliseconds."""
    from PySide6.QtCore import QRectF

    t = time.perf_counter()
    painter = painter_cls(image)
    canvas.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    return (time.perf_counter() - t) * 1000


def bench(path: Path, size: tuple[int, int]) -> dict:
    import numpy as np
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.core.map_data import identify, read_map
    from hatang_desktop.core.storage.database import Database
    from hatang_desktop.ui.map.canvas import MapCanvas

    app = QApplication.instance()
    canvas = MapCanvas()
    canvas.resize(*size)
    canvas.show()
    app.processEvents()
    image = QImage(size[0], size[1], QImage.Format.Format_ARGB32_Premultiplied)

    t0 = time.perf_counter()
    db = Database.open(path, readonly=True)
    data = read_map(db)
    t_read = time.perf_counter()
    canvas.set_map(data)
    app.processEvents()
    t_items = time.perf_counter()
    render(canvas, image, QPainter)
    first = (time.perf_counter() - t0) * 1000

    # A working view: a city-sized window (~8 km across) around the busiest place, where poles show.
    sites = data.sites
    cx, cy = float(np.median(sites.x)), float(np.median(sites.y))
    half = 4000.0
    canvas.view.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
    app.processEvents()
    render(canvas, image, QPainter)  # warm caches (symbol atlas) once

    pans, zooms = [], []
    for i in range(REPEATS):
        canvas.view.translateBy(x=(300 if i % 2 == 0 else -300))
        app.processEvents()
        pans.append(render(canvas, image, QPainter))
    for i in range(REPEATS):
        canvas.zoom_by(0.8 if i % 2 == 0 else 1.25)
        app.processEvents()
        zooms.append(render(canvas, image, QPainter))
    # Full extent too: the view a user gets first, with every layer at once.
    canvas.zoom_full()
    app.processEvents()
    render(canvas, image, QPainter)
    full_pans = []
    for i in range(5):
        canvas.view.translateBy(x=(2000 if i % 2 == 0 else -2000))
        app.processEvents()
        full_pans.append(render(canvas, image, QPainter))

    rng = np.random.default_rng(1)
    picks = rng.choice(len(sites), size=min(REPEATS, len(sites)), replace=False)
    idents = []
    for i in picks:
        t = time.perf_counter()
        feature = identify(db, float(sites.x[i]) + 3, float(sites.y[i]), 8 * 10.0)
        idents.append((time.perf_counter() - t) * 1000)
        assert feature is not None
    result = {
        "sites": len(sites), "poles": len(data.poles), "route_vertices": len(data.routes.x),
        "read_s": t_read - t0, "items_s": t_items - t_read, "first_render_s": first / 1000,
        "pan_ms": statistics.median(pans), "zoom_ms": statistics.median(zooms),
        "full_extent_pan_ms": statistics.median(full_pans),
        "identify_ms": statistics.median(idents), "rss_mb": rss_mb(),
    }
    canvas.close()
    canvas.deleteLater()
    db.close()
    app.processEvents()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("big", nargs="?", default="/tmp/hatang_big.db")
    parser.add_argument("--province", default="/tmp/hatang_province.db")
    parser.add_argument("--size", default="1200x800")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    ensure(Path(args.province))
    ensure(Path(args.big), "--province", "all", "--sites", "120000")

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    QApplication.instance() or QApplication([])
    print(f"canvas {size[0]}x{size[1]}, offscreen, median of {REPEATS}; pan/zoom in an 8 km view")
    header = ("database", "sites", "poles", "route vtx", "read s", "items s", "first render s", "pan ms",
              "zoom ms", "pan@full ms", "identify ms", "RSS MB")
    print(" | ".join(header))
    for label, path in (("province", Path(args.province)), ("national", Path(args.big))):
        r = bench(path, size)
        print(" | ".join([label, f"{r['sites']:,}", f"{r['poles']:,}", f"{r['route_vertices']:,}",
                          f"{r['read_s']:.2f}", f"{r['items_s']:.2f}", f"{r['first_render_s']:.2f}",
                          f"{r['pan_ms']:.1f}", f"{r['zoom_ms']:.1f}", f"{r['full_extent_pan_ms']:.1f}",
                          f"{r['identify_ms']:.1f}", f"{r['rss_mb']:.0f}"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
