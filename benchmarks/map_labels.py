"""What site, pole and route labels cost a map frame (offscreen; a benchmark, not a test).

    python benchmarks/map_labels.py [SAMPLE.db] [--size 1200x800]

SAMPLE.db defaults to /tmp/hatang_province_labels.db: the Hà Tĩnh sample (3,600 sites, 15,000
poles), built with `hatang sample` when missing. Around the densest square kilometre of sites (a town centre), at an 8 km view (no
labels: beyond their scale), a 2 km view (site and route codes) and a 1 km view (pole numbers
too) it prints the median frame (a pan with all it triggers, then a full paint of the canvas)
with labels on, and beside it the same frames with every label box off, measured in the same
run, alternating. A pan places the labels again: that is the cost measured.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from map_render import REPEATS, frame, open_window  # noqa: E402  (the same frame as the map benchmark)

LABELLED = ("sites", "routes", "poles")


def main(argv=None) -> int:
    import argparse

    import numpy as np
    from PySide6.QtGui import QImage


    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("db", nargs="?", default="/tmp/hatang_province_labels.db")
    parser.add_argument("--size", default="1200x800")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.split("x"))
    if not Path(args.db).exists():
        hatang = Path(sys.executable).with_name("hatang")
        subprocess.run([str(hatang), "sample", args.db], check=True, capture_output=True)
    app, window = open_window(Path(args.db), size)
    canvas = window.canvas
    canvas.setUpdatesEnabled(False)
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    sites = canvas.layers["sites"].data
    # The densest square kilometre of sites: a town centre, where codes crowd most.
    nx = max(int((sites.x.max() - sites.x.min()) // 1000), 1)
    ny = max(int((sites.y.max() - sites.y.min()) // 1000), 1)
    counts, ex, ey = np.histogram2d(sites.x, sites.y, bins=(nx, ny))
    bx, by = np.unravel_index(int(np.argmax(counts)), counts.shape)
    cx, cy = float(ex[bx] + ex[bx + 1]) / 2, float(ey[by] + ey[by + 1]) / 2
    print(f"{args.db}: canvas {canvas.width()}x{canvas.height()}; medians of {REPEATS} pans, labels on | off "
          "alternating; 2 shared CPUs, noisy")

    def labels(on: bool) -> None:
        for key in LABELLED:
            canvas.set_labels_visible(key, on)

    rows = []
    for name, half in (("working view 8 km", 4000.0), ("1:5,000-ish 2 km", 1000.0), ("street view 1 km", 500.0)):
        canvas.view.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
        frame(app, canvas, image, lambda: None)
        span = canvas.view_extent().max_x - canvas.view_extent().min_x
        on, off, drawn = [], [], []
        for i in range(REPEATS):
            d = span / 20 if i % 2 == 0 else -span / 20
            for shown, out in ((True, on), (False, off)) if i % 2 == 0 else ((False, off), (True, on)):
                labels(shown)
                frame(app, canvas, image, lambda: None)
                out.append(frame(app, canvas, image, lambda d=d: canvas.view.translateBy(x=d)))
                if shown:
                    drawn.append(len(canvas.feature_labels.placed))
        labels(True)
        rows.append((name, canvas.metres_per_pixel(), int(np.median(drawn)), statistics.median(on),
                     statistics.median(off)))
    print("view | m/px | labels drawn | frame with labels ms | without (same run) ms | ratio")
    for name, mpp, n, on, off in rows:
        print(f"{name} | {mpp:.2f} | {n} | {on:.1f} | {off:.1f} | {on / off:.2f}x")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
