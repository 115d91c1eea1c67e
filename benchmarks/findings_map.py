"""What the findings layer costs a map frame (offscreen; a benchmark, not a test).

    python benchmarks/findings_map.py [CHECKED.db] [--size 1200x800]

CHECKED.db defaults to /tmp/hatang_province_checked.db: the Hà Tĩnh sample (3,600 sites) after
`hatang check` (~7,100 open findings), built when missing. Findings are grouped on screen (a disc
with a count per 64-pixel cell) farther out than 10 m a pixel and drawn as flags closer in. For
the full extent, a 60 km district, an 8 km working view and a 3 km street view, it prints the median frame (a pan
with all it triggers, then a full paint of the canvas) with the findings layer on, and beside it
the same frames with the layer off, measured in the same run, alternating, plus how many groups
and flags the view holds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from map_render import REPEATS, frame, open_window  # noqa: E402  (the same frame as the map benchmark)


def ensure_checked(path: Path) -> None:
    if path.exists():
        return
    hatang = Path(sys.executable).with_name("hatang")
    print(f"building {path} (hatang sample, then hatang check) ...", flush=True)
    subprocess.run([str(hatang), "sample", str(path)], check=True, capture_output=True)
    subprocess.run([str(hatang), "check", str(path)], check=True, capture_output=True)


def main(argv=None) -> int:
    import numpy as np
    from PySide6.QtGui import QImage


    import argparse



    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", nargs="?", default="/tmp/hatang_province_checked.db")
    parser.add_argument("--size", default="1200x800")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    ensure_checked(Path(args.db))
    app, window = open_window(Path(args.db), size)
    canvas = window.canvas
    canvas.setUpdatesEnabled(False)
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    layer = canvas.layers["findings"]
    sites = canvas.layers["sites"].data
    cx, cy = float(np.median(sites.x)), float(np.median(sites.y))
    print(f"{args.db}: {len(layer.data) if layer.data else 0:,} findings on the map; "
          f"canvas {canvas.width()}x{canvas.height()}; medians of {REPEATS} pans, layer on | off "
          "alternating; 2 shared CPUs, noisy")

    def view(half: float | None) -> None:
        if half is None:
            canvas.zoom_full()
        else:
            canvas.view.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
        frame(app, canvas, image, lambda: None)

    rows = []
    for label, half in (("full extent", None), ("district 60 km", 30000.0), ("working view 8 km", 4000.0), ("street view 3 km", 1500.0)):
        view(half)
        span = canvas.view_extent().max_x - canvas.view_extent().min_x
        if layer.grouped:
            shown = f"{len(layer.groups.groups_in(canvas.view.viewRect(), canvas.metres_per_pixel()))} groups"
        else:
            shown = "flags"
        on, off = [], []
        for i in range(REPEATS):
            d = span / 20 if i % 2 == 0 else -span / 20
            for visible, out in ((True, on), (False, off)) if i % 2 == 0 else ((False, off), (True, on)):
                canvas.set_layer_visible("findings", visible)
                frame(app, canvas, image, lambda: None)
                out.append(frame(app, canvas, image, lambda d=d: canvas.view.translateBy(x=d)))
        canvas.set_layer_visible("findings", True)
        rows.append((label, shown, statistics.median(on), statistics.median(off)))
    print("view | findings drawn as | frame with findings ms | without (same run) ms | ratio")
    for label, shown, on, off in rows:
        print(f"{label} | {shown} | {on:.1f} | {off:.1f} | {on / off:.2f}x")
    window.close()
    return 0


if __name__ == "__main__":
    t = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - t:.0f} s)")
    sys.exit(code)
