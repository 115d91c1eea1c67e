"""Save -> map redrawn, at province and national scale (offscreen; a benchmark, not a test).

    python benchmarks/edit_redraw.py [BIG.db] [--province PROVINCE.db] [--size 1200x800]

The databases are map_render.py's (built when missing; the national one takes 3-4 minutes) and
are copied first: the benchmark writes. Each opens in the main window as the app does, zoomed
to a city-sized view around the busiest place. Then, measured in the same run:

* patched: an edit as the app makes it now. The core write, its Changes announced
  (EditController.push -> DataEvents.changed): the changed records read by uuid, the layers
  patched in place, the counts and the identify panel updated; then one full paint of the canvas.
* full reload: the same core write followed by what every edit did before (MainWindow.refresh_map:
  read_map of every layer, every item rebuilt, database_info for the counts, and the record read
  twice for the identify panel); then the same paint.

Edits: a new site saved from a form, a site moved, that move undone (Ctrl+Z's path), a pole
moved (the 504k-point layer), a vertex of the route nearest the view's centre moved and one
inserted into it (the 931k-vertex route layer and its levels of detail). Medians of REPEATS;
wall time, so a busy machine inflates both.
Target: save -> map redrawn <= 50 ms at national scale.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from map_render import prepare  # noqa: E402  (the same sample databases and Qt set-up)

REPEATS = 7
FULL_REPEATS = 3  # the full reload takes seconds nationally


def paint(app, canvas, image) -> None:
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter

    app.processEvents()
    painter = QPainter(image)
    canvas.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()


def old_after_edit(window, table: str, uuid: str) -> None:
    """What EditController.after_edit did before edits said what they changed."""
    from hatang_desktop.core import editing
    from hatang_desktop.core.map_data import read_feature

    window.refresh_map()
    if not editing.read_values(window.db, table, uuid).get("deleted"):
        feature = read_feature(window.db, table, uuid)
        window.identify_panel.show_feature(feature)
        window.canvas.highlight(feature.geometry)


def bench(path: Path, size: tuple[int, int]) -> dict:
    import numpy as np
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from hatang_desktop.core import editing
    from hatang_desktop.core.geo.projection import mercator_to_lonlat
    from hatang_desktop.core.undo import undo_operation
    from hatang_desktop.ui.main_window import MainWindow

    app = QApplication.instance()
    window = MainWindow()
    window.resize(size[0] + 400, size[1] + 200)
    window.show()
    window.load_database(path)
    app.processEvents()
    canvas, editor, db = window.canvas, window.editor, window.db
    sites, poles = canvas.layers["sites"].data, canvas.layers["poles"].data
    cx, cy = float(np.median(sites.x)), float(np.median(sites.y))
    canvas.view.setRange(xRange=(cx - 4000, cx + 4000), yRange=(cy - 4000, cy + 4000), padding=0)
    canvas.setUpdatesEnabled(False)
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    paint(app, canvas, image)
    lon0, lat0 = (float(v) for v in mercator_to_lonlat(cx, cy))
    nearest = int(np.argmin(np.hypot(sites.x - cx, sites.y - cy)))
    site = str(sites.uuid[nearest])
    pole = str(poles.uuid[int(np.argmin(np.hypot(poles.x - cx, poles.y - cy)))])
    routes = canvas.layers["routes"].data
    route = str(routes.uuid[routes.vertex_feature[int(np.argmin(np.hypot(routes.x - cx, routes.y - cy)))]])
    route_lon, route_lat = editing.route_vertices(db, route)[0]
    counter = iter(range(10**6))

    def new_site():
        k = next(counter)
        return editing.save_record(db, "sites", {
            "site_code": f"BENCH-{os.getpid()}-{k}", "operator_code": "VNPT", "tower_type": "ground_tower",
            "permit_no": "GP-1", "height_m": 30, "status": "operating",
            "lat": lat0 + 0.0004 * (k % 40), "lon": lon0 + 0.0005 * (k // 40 + 1)})

    def move(table, uuid):
        k = next(counter)
        return lambda: editing.move_point(db, table, uuid, lat0 + 0.0001 * (k % 7), lon0 - 0.0001 * (k % 5))

    def move_vertex():
        k = next(counter)
        return editing.move_vertex(db, route, 0, route_lat + 0.00001 * (k % 7 + 1), route_lon)

    def insert_vertex():
        k = next(counter)
        return editing.insert_vertex(db, route, 1, route_lat + 0.00002 * (k % 5 + 1), route_lon + 0.00002)

    last = {}

    def undo_last():
        return undo_operation(db, last["op"])

    def timed(edit, show, repeats) -> list[float]:
        out = []
        for _ in range(repeats):
            t = time.perf_counter()
            result = edit()
            show(result)
            paint(app, canvas, image)
            out.append((time.perf_counter() - t) * 1000)
            last["op"] = result.operation_id
        return out

    def patched(result):
        editor.push(result)

    def full(result):
        old_after_edit(window, result.table, result.uuid)

    figures = {}
    cases = (("save new site", new_site, None), ("move site", lambda: move("sites", site)(), None),
             ("undo the move", undo_last, lambda: move("sites", site)()),
             ("move pole", lambda: move("poles", pole)(), None),
             ("move route vertex", move_vertex, None), ("insert route vertex", insert_vertex, None))
    for name, edit, before in cases:
        rows = {}
        for label, show, repeats in (("patched", patched, REPEATS), ("full reload", full, FULL_REPEATS)):
            runs = []
            for _ in range(repeats):
                if before is not None:
                    last["op"] = before().operation_id
                runs += timed(edit, show, 1)
            rows[label] = statistics.median(runs)
        figures[name] = rows
    result = {"sites": len(canvas.layers["sites"].data), "poles": len(canvas.layers["poles"].data),
              "routes": len(canvas.layers["routes"].data), "figures": figures}
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def main(argv=None) -> int:
    args, size, _app = prepare(argv, __doc__.split("\n")[0])
    print(f"save -> map redrawn (edit + redraw + one full paint of a {size[0]}x{size[1]} canvas, city view); "
          f"medians of {REPEATS} (patched) and {FULL_REPEATS} (full reload), ms wall")
    print("timings are noisy: the machine's 2 CPUs are shared with other jobs")
    work = Path(tempfile.mkdtemp())
    for label, source in (("province", Path(args.province)), ("national", Path(args.big))):
        copy = work / f"{label}.db"
        shutil.copyfile(source, copy)
        r = bench(copy, size)
        print(f"{label} ({r['sites']:,} sites, {r['poles']:,} poles, {r['routes']:,} routes)")
        print("  edit | patched ms | full reload ms (refresh_map, as before) | speed-up")
        for name, row in r["figures"].items():
            print(f"  {name} | {row['patched']:.1f} | {row['full reload']:.1f} | "
                  f"{row['full reload'] / row['patched']:.0f}x", flush=True)
        copy.unlink()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
