"""Map canvas speed at national and province scale (offscreen; a benchmark, not a test).

    python benchmarks/map_render.py [BIG.db] [--province PROVINCE.db] [--size 1200x800]

BIG.db defaults to /tmp/hatang_big.db and is built when missing (`hatang sample --province all
--sites 120000`: ~500k poles, ~1M route vertices; 3-4 minutes). The province database defaults to
/tmp/hatang_province.db (the Hà Tĩnh sample, 3,600 sites; built when missing).

For each database it opens the main window the way the app does (read on a worker thread, items
built on the GUI thread in steps) and prints: time to open and to the first full render, the
longest time the GUI thread was blocked meanwhile (a 5 ms heartbeat timer; target <= 100 ms on
the province), median frame time after a pan and after a zoom in an 8 km view (targets <= 30
ms), in a 60 km view and at full extent, the worst frame, identify at a point (target <= 50 ms),
and the process's resident memory. A frame is the view change with all it triggers plus a
full paint of the canvas into an image, as a screen refresh would be.
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
OPEN_REPEATS = 2  # national opens per side for the opening comparison (each takes seconds)


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


class Heartbeat:
    """A 5 ms timer on the GUI thread: the longest gap between its ticks is the longest time
    the GUI thread was busy with one thing (what a user feels as a freeze)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.longest = 0.0
        self.gaps: list[tuple[float, float]] = []  # (end time, gap seconds)
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.longest = max(self.longest, now - self._last)
            self.gaps.append((now, now - self._last))
        self._last = now

    def longest_between(self, start: float, end: float) -> float:
        """Longest gap (ms) that ended between two perf_counter times."""
        return max((g for t, g in self.gaps if start <= t <= end), default=0.0) * 1000

    def start(self) -> None:
        self.longest, self._last, self.gaps = 0.0, time.perf_counter(), []
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self._tick()
        return self.longest * 1000


CPU_MS: list[float] = []  # GUI-thread CPU time of each frame, beside its wall time


def frame(app, canvas, image, change) -> float:
    """One frame, honestly: the view change with everything it triggers (layer handlers, scale
    bar, label placement...), then a full paint of the canvas into an image, as a screen refresh
    would. Milliseconds of wall time; the GUI thread's CPU time goes to CPU_MS (on a shared,
    busy machine wall time includes waiting for a CPU). The canvas' own updates are switched
    off meanwhile, so processEvents does not paint it a second time."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter

    t, c = time.perf_counter(), time.thread_time()
    change()
    app.processEvents()
    painter = QPainter(image)
    canvas.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    CPU_MS.append((time.thread_time() - c) * 1000)
    return (time.perf_counter() - t) * 1000


class Yardstick:
    """PITFALLS' yardstick on this machine, now: 100k points in one pyqtgraph ScatterPlotItem,
    re-rendered at the canvas' size (~25 ms wall on an idle machine). Kept open so its frames
    can alternate with the map's in the same minute (a busy machine slows both alike)."""

    def __init__(self, size: tuple[int, int]) -> None:
        import numpy as np
        import pyqtgraph as pg
        from PySide6.QtGui import QImage
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance()
        self.widget = pg.PlotWidget()
        self.widget.resize(*size)
        self.widget.show()
        rng = np.random.default_rng(0)
        self.widget.addItem(pg.ScatterPlotItem(x=rng.random(100_000), y=rng.random(100_000), size=5, pen=None,
                                               brush=pg.mkBrush("#1f77b4")))
        self.app.processEvents()
        self.widget.setUpdatesEnabled(False)
        self.size = size
        self.image = QImage(size[0], size[1], QImage.Format.Format_ARGB32_Premultiplied)
        self._i = 0

    def frame(self) -> tuple[float, float]:
        """One re-render after a small pan: (wall ms, GUI-thread CPU ms)."""
        from PySide6.QtCore import QRectF
        from PySide6.QtGui import QPainter

        t, c = time.perf_counter(), time.thread_time()
        self.widget.getViewBox().translateBy(x=0.01 if self._i % 2 == 0 else -0.01)
        self._i += 1
        self.app.processEvents()
        painter = QPainter(self.image)
        self.widget.render(painter, QRectF(0, 0, self.size[0], self.size[1]))
        painter.end()
        return (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000

    def close(self) -> None:
        self.widget.close()
        self.widget.deleteLater()


def load() -> str:
    return "load average " + " / ".join(f"{v:.1f}" for v in os.getloadavg())


def bench(path: Path, size: tuple[int, int], screenshot: Path | None = None, stick: Yardstick | None = None) -> dict:
    import numpy as np
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.core.map_data import identify
    from hatang_desktop.ui.main_window import MainWindow

    app = QApplication.instance()
    window = MainWindow()
    window.show()
    app.processEvents()
    canvas = window.canvas
    # The window sized so that its map is `size`, docks and bars around it as a user has them.
    extra_w, extra_h = window.width() - canvas.width(), window.height() - canvas.height()
    window.resize(size[0] + extra_w, size[1] + extra_h)
    app.processEvents()

    # Opening as the app does: read on a worker thread, items built on the GUI thread in steps.
    read_done = []
    build = canvas.set_map_in_steps

    def set_map_in_steps(*args):  # the worker has finished reading: the GUI builds from here
        read_done.append(time.perf_counter())
        build(*args)

    canvas.set_map_in_steps = set_map_in_steps
    opened = timed_open(app, window, path)
    beat, t0, shown, loaded, end = opened["beat"], opened["t0"], opened["shown"], opened["loaded"], opened["end"]
    longest_block, open_load = opened["longest_ms"], opened["load"]
    # While reading, the GUI thread waits only for the GIL (the worker's numpy, shapely, sqlite
    # calls hold it); while building, it does the layer steps and the first paint itself.
    usable = shown - t0
    block_reading = beat.longest_between(t0, read_done[0])
    block_building = beat.longest_between(read_done[0], shown)
    block_late = beat.longest_between(shown, end)
    canvas.setUpdatesEnabled(False)
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    frame(app, canvas, image, lambda: None)
    first = time.perf_counter() - t0
    if screenshot is not None:
        image.save(str(screenshot))
    data_sites = canvas.layers["sites"].data

    def series(changes) -> list[float]:
        del CPU_MS[:]
        walls = [frame(app, canvas, image, c) for c in changes]
        cpus.append(statistics.median(CPU_MS))
        return walls

    cpus: list[float] = []

    # A working view: a city-sized window (~8 km across) around the busiest place, where poles show.
    cx, cy = float(np.median(data_sites.x)), float(np.median(data_sites.y))
    half = 4000.0
    canvas.view.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
    frame(app, canvas, image, lambda: None)  # warm caches (symbol atlas) once
    pans = series([lambda d=(300 if i % 2 == 0 else -300): canvas.view.translateBy(x=d) for i in range(REPEATS)])
    zooms = series([lambda f=(0.8 if i % 2 == 0 else 1.25): canvas.zoom_by(f) for i in range(REPEATS)])
    # A district (~60 km across) and the full extent: every layer at once, thinned and simplified.
    canvas.view.setRange(xRange=(cx - 30000, cx + 30000), yRange=(cy - 30000, cy + 30000), padding=0)
    frame(app, canvas, image, lambda: None)
    district = series([lambda d=(3000 if i % 2 == 0 else -3000): canvas.view.translateBy(x=d) for i in range(REPEATS)])
    frame(app, canvas, image, canvas.zoom_full)
    span = canvas.view_extent().max_x - canvas.view_extent().min_x
    # Full extent: our frames alternate with the yardstick's, one each, so both see the same load.
    refs: list[tuple[float, float]] = []

    def alternating(changes) -> list[float]:
        walls = []
        for change in changes:
            if stick is not None:
                refs.append(stick.frame())
            walls.append(series([change])[0])
        return walls

    frame(app, canvas, image, lambda: canvas.view.translateBy(x=span / 20))  # aggregates made once
    frame(app, canvas, image, lambda: canvas.view.translateBy(x=-span / 20))
    full_pans = alternating([lambda d=(span / 20 if i % 2 == 0 else -span / 20): canvas.view.translateBy(x=d)
                             for i in range(REPEATS)])
    full_mpp = canvas.metres_per_pixel()
    full_zooms = alternating([lambda f=(0.8 if i % 2 == 0 else 1.25): canvas.zoom_by(f) for i in range(REPEATS)])
    full_cpu = cpus[-2 * REPEATS:]
    del cpus[-2 * REPEATS:]
    cpus += [statistics.median(full_cpu[:REPEATS]), statistics.median(full_cpu[REPEATS:])]

    # Identify as the window does it: only what the map shows (layer toggles, filters, scale).
    db = window.db
    canvas.view.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
    app.processEvents()
    rng = np.random.default_rng(1)
    picks = rng.choice(len(data_sites), size=min(REPEATS, len(data_sites)), replace=False)
    idents = []
    for i in picks:
        t = time.perf_counter()
        feature = identify(db, float(data_sites.x[i]) + 3, float(data_sites.y[i]), 8 * 10.0,
                           accept=canvas.is_identifiable)
        idents.append((time.perf_counter() - t) * 1000)
        assert feature is not None
    data = {k: canvas.layers[k].data for k in ("poles", "routes")}
    result = {
        "canvas": f"{canvas.width()}x{canvas.height()}",
        "sites": len(data_sites), "poles": len(data["poles"]), "route_vertices": len(data["routes"].x),
        "load_s": loaded - t0, "first_render_s": first, "longest_block_ms": longest_block,
        "block_reading_ms": block_reading, "block_building_ms": block_building, "block_late_ms": block_late,
        "usable_s": usable,
        "pan_ms": statistics.median(pans), "zoom_ms": statistics.median(zooms),
        "district_pan_ms": statistics.median(district),
        "full_extent_pan_ms": statistics.median(full_pans), "full_extent_zoom_ms": statistics.median(full_zooms),
        "full_extent_best_ms": (min(full_pans), min(full_zooms)),
        "full_extent_mpp": full_mpp,
        "yardstick_ms": (statistics.median(r[0] for r in refs), min(r[0] for r in refs)) if refs else None,
        "yardstick_cpu_ms": statistics.median(r[1] for r in refs) if refs else None,
        "load": load(), "open_load": open_load,
        "worst_frame_ms": max(pans + zooms + district + full_pans + full_zooms),
        "identify_ms": statistics.median(idents), "rss_mb": rss_mb(),
        "cpu_ms": cpus,  # pan, zoom, 60 km pan, full pan, full zoom
    }
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def timed_open(app, window, path: Path) -> dict:
    """open_database(path) as the app does, waited for to the end with a heartbeat running:
    perf_counter times of the start (t0), the usable map (shown: map_shown, or the end when it
    never came) and everything loaded, then the first paint (end); the longest GUI block."""
    from hatang_desktop.ui import collector

    collector.freeze_startup()  # as the app does once its window is shown, before it opens a file
    beat, done, shown = Heartbeat(), [], []
    window.load_finished.connect(done.append)
    window.map_shown.connect(lambda: shown.append(time.perf_counter()))
    t0 = time.perf_counter()
    beat.start()
    window.open_database(path)
    while not done:
        app.processEvents()
        time.sleep(0.001)
    loaded = time.perf_counter()
    open_load = load()
    app.processEvents()  # the first paint of the window
    longest = beat.stop()
    return {"beat": beat, "t0": t0, "shown": shown[0] if shown else loaded, "loaded": loaded,
            "end": time.perf_counter(), "longest_ms": longest, "load": open_load}


def open_once(path: Path, size: tuple[int, int], late: bool) -> dict:
    """Open `path` in a new window as the app does and time it: to a usable map (map_shown) and
    to everything (load_finished), and the longest GUI-thread block. `late=False` is the
    reference: every layer and the counts read before the map is drawn (one phase)."""
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.ui.loader import LoadJob
    from hatang_desktop.ui.main_window import MainWindow

    app = QApplication.instance()
    window = MainWindow()
    window.show()
    extra_w, extra_h = window.width() - window.canvas.width(), window.height() - window.canvas.height()
    window.resize(size[0] + extra_w, size[1] + extra_h)
    app.processEvents()
    LoadJob.late = late
    try:
        opened = timed_open(app, window, path)
    finally:
        LoadJob.late = True
    result = {"usable_s": opened["shown"] - opened["t0"], "all_s": opened["loaded"] - opened["t0"],
              "block_ms": opened["longest_ms"], "load": opened["load"]}
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def prepare(argv, description: str):
    """What every map benchmark starts from: its arguments (BIG.db, --province, --size), the two
    sample databases (built when missing) and the Qt application, its settings kept away from
    the user's. Returns (args, (width, height), app)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("big", nargs="?", default="/tmp/hatang_big.db")
    parser.add_argument("--province", default="/tmp/hatang_province.db")
    parser.add_argument("--size", default="1200x800")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    ensure(Path(args.province))
    ensure(Path(args.big), "--province", "all", "--sites", "120000")

    import tempfile

    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    # The window remembers layouts and files: keep the benchmark's away from the user's settings.
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance() or QApplication([])
    from hatang_desktop.ui import collector, read_process
    from hatang_desktop.ui.app import load_fonts

    read_process.warm()  # as the app does at its start: the process reading large files for the map
    collector.install(app)  # cyclic collections on the GUI thread's timer, as in the app
    load_fonts(app)
    return args, size, app


def open_window(db: Path, size: tuple[int, int]):
    """The app's window on `db` with its map canvas `size` pixels, as the frame benchmarks drive
    it: antialiased, the app's fonts, settings kept away from the user's. Returns (app, window)."""
    import tempfile

    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.ui import collector
    from hatang_desktop.ui.app import load_fonts
    from hatang_desktop.ui.main_window import MainWindow

    pg.setConfigOptions(antialias=True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp())
    app = QApplication.instance() or QApplication([])
    if not hasattr(app, "_hatang_gc"):
        collector.install(app)
    load_fonts(app)
    window = MainWindow()
    window.show()
    collector.freeze_startup()
    canvas = window.canvas
    extra_w, extra_h = window.width() - canvas.width(), window.height() - canvas.height()
    window.resize(size[0] + extra_w, size[1] + extra_h)
    window.load_database(db)
    app.processEvents()
    return app, window


def main(argv=None) -> int:
    args, size, _app = prepare(argv, __doc__.split("\n")[0])
    print(f"canvas {size[0]}x{size[1]} in the main window, offscreen; medians of {REPEATS} frames "
          "(a frame = the view change and its handlers + a full paint of the canvas into an image)")
    print("timings are noisy: the machine's 2 CPUs are shared with other jobs")
    header = ("database", "sites", "poles", "route vtx", "open s", "first render s",
              "longest GUI block ms (reading / building)",
              "pan ms", "zoom ms", "pan@60km ms", "pan@full ms", "zoom@full ms", "worst frame ms",
              "identify ms", "RSS MB")
    stick = Yardstick(size)
    walls, cpus = zip(*(stick.frame() for _ in range(REPEATS)))
    print(f"reference: 100k points in one pyqtgraph ScatterPlotItem re-render in {statistics.median(walls):.1f} ms "
          f"wall, {statistics.median(cpus):.1f} ms CPU (PITFALLS: ~25 ms on an idle machine); {load()}")
    print(" | ".join(header))
    results = []
    for label, path in (("province", Path(args.province)), ("national", Path(args.big))):
        r = bench(path, size, stick=stick)
        results.append((label, r))
        print(" | ".join([label, f"{r['sites']:,}", f"{r['poles']:,}", f"{r['route_vertices']:,}",
                          f"{r['load_s']:.2f}", f"{r['first_render_s']:.2f}",
                          f"{r['longest_block_ms']:.0f} ({r['block_reading_ms']:.0f} / {r['block_building_ms']:.0f})",
                          f"{r['pan_ms']:.1f}", f"{r['zoom_ms']:.1f}", f"{r['district_pan_ms']:.1f}",
                          f"{r['full_extent_pan_ms']:.1f}", f"{r['full_extent_zoom_ms']:.1f}",
                          f"{r['worst_frame_ms']:.0f}", f"{r['identify_ms']:.1f}", f"{r['rss_mb']:.0f}"]),
              flush=True)
    stick.close()
    print("GUI-thread CPU ms per frame (what the frame costs without waiting for a CPU): "
          "pan | zoom | pan@60km | pan@full | zoom@full")
    for label, r in results:
        print(f"{label}: " + " | ".join(f"{v:.1f}" for v in r["cpu_ms"]))
    print("full extent, frames alternating with the yardstick's (median / best ms wall; CPU median):")
    for label, r in results:
        (ref, ref_best), ref_cpu = r["yardstick_ms"], r["yardstick_cpu_ms"]
        pan, zoom = r["full_extent_pan_ms"], r["full_extent_zoom_ms"]
        (pan_best, zoom_best), (_, _, _, pan_cpu, zoom_cpu) = r["full_extent_best_ms"], r["cpu_ms"]
        print(f"{label} ({r['full_extent_mpp']:.0f} m/px): pan {pan:.1f} / {pan_best:.1f} (CPU {pan_cpu:.1f}), "
              f"zoom {zoom:.1f} / {zoom_best:.1f} (CPU {zoom_cpu:.1f}); yardstick {ref:.1f} / {ref_best:.1f} "
              f"(CPU {ref_cpu:.1f}): pan {pan / ref:.2f}x, zoom {zoom / ref:.2f}x the yardstick; {r['load']}")
    print("opening (read on a worker, items built in steps; longest gap of a 5 ms GUI-thread timer):")
    for label, r in results:
        print(f"{label}: {r['usable_s']:.2f} s to a usable map, {r['load_s']:.2f} s to everything (poles, counts); "
              f"longest GUI block {r['longest_block_ms']:.0f} ms (reading {r['block_reading_ms']:.0f} / building "
              f"{r['block_building_ms']:.0f} / poles after the map {r['block_late_ms']:.0f}); {r['open_load']}")
    print("opening the national database, poles after the map vs everything before it (the reference), "
          f"alternating, best of {OPEN_REPEATS}:")
    ours, ref = [], []
    for _ in range(OPEN_REPEATS):
        ours.append(open_once(Path(args.big), size, late=True))
        ref.append(open_once(Path(args.big), size, late=False))
    for label, runs in (("poles after the map", ours), ("everything first (reference)", ref)):
        best = min(runs, key=lambda r: r["usable_s"])
        each = ", ".join(f"{r['usable_s']:.2f}" for r in runs)
        print(f"{label}: usable map {best['usable_s']:.2f} s (runs: {each}), everything {best['all_s']:.2f} s, "
              f"longest GUI block {best['block_ms']:.0f} ms; {best['load']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
