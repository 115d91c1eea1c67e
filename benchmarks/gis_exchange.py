"""GIS exchange speed at national scale: export to GeoPackage and import it into a fresh database,
with GDAL's ogr2ogr moving the same features in the same run as the reference.

    python benchmarks/gis_exchange.py [--db /tmp/hatang_big.db] [--keep DIR]

The source database is only read. References, timed in the same run on the same features:
  export: `ogr2ogr -f GPKG ref.gpkg ours.gpkg` (GDAL writing the same layers and attributes);
  import: `ogr2ogr -f SQLite ref.sqlite ours.gpkg` (GDAL reading them into a SQLite file).
Our side does more than GDAL's (Vietnamese labels, validation of every field against the forms,
matching, a transaction with change-log attribution), so read the ratio as "cost of doing it
properly", not as parity. Timings are noisy: other processes share the machine's two CPUs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hatang_desktop.core.admin_units import install_province, provinces
from hatang_desktop.core.gis import export_gis, import_gis
from hatang_desktop.core.storage.database import Database, set_meta


def fresh_national(path: Path) -> Database:
    db = Database.create(path)
    with db.operation("Khởi tạo toàn quốc (benchmark)", source="benchmark") as s:
        for p in provinces():
            install_province(s, p)
        set_meta(s, "scope", "national")
        set_meta(s, "province_code", "VN")
        set_meta(s, "province_name", "Việt Nam (toàn quốc)")
    return db


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    print(f"  {label:<46} {dt:8.1f} s", flush=True)
    return out, dt


def ogr2ogr(*args: str) -> None:
    done = subprocess.run(["ogr2ogr", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ogr2ogr failed: {done.stderr}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/hatang_big.db", help="national-scale sample (read only)")
    ap.add_argument("--keep", help="keep the files in this folder instead of a temporary one")
    args = ap.parse_args()
    if not Path(args.db).exists():
        print(f"{args.db} not found: make it with `hatang sample {args.db} --province all --sites 120000`")
        return 1
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gis_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    have_ogr = shutil.which("ogr2ogr") is not None
    print(f"Source: {args.db}   work: {work}")
    try:
        with Database.open(args.db, readonly=True) as src:
            out = work / "hatang.gpkg"
            result, ours_export = timed("export: hatang (GeoPackage)", lambda: export_gis(src, out))
        features = sum(result.counts.values())
        print("  " + ", ".join(f"{k} {v}" for k, v in result.counts.items()) + f"  ({features} features, "
              f"{out.stat().st_size / 1e6:.0f} MB)")
        ref_export = ref_import = None
        if have_ogr:
            _, ref_export = timed("export reference: ogr2ogr -f GPKG (same layers)",
                                  lambda: ogr2ogr("-f", "GPKG", str(work / "ref.gpkg"), str(out)))
        fresh, _ = timed("fresh national database (admin units)", lambda: fresh_national(work / "fresh.db"))
        with fresh:
            imported, ours_import = timed("import: hatang (validate, match, merge, write)",
                                          lambda: import_gis(fresh, out, backup=False))
        print("  " + ", ".join(f"{k} {v}" for k, v in imported.total.items()))
        if have_ogr:
            _, ref_import = timed("import reference: ogr2ogr -f SQLite (same layers)",
                                  lambda: ogr2ogr("-f", "SQLite", str(work / "ref.sqlite"), str(out)))
        print()
        print(f"export: hatang {ours_export:.1f} s ({features / ours_export:,.0f} features/s)" +
              (f", ogr2ogr {ref_export:.1f} s, ratio {ours_export / ref_export:.1f}x" if ref_export else
               ", ogr2ogr not installed"))
        print(f"import: hatang {ours_import:.1f} s ({features / ours_import:,.0f} features/s)" +
              (f", ogr2ogr {ref_import:.1f} s, ratio {ours_import / ref_import:.1f}x" if ref_import else
               ", ogr2ogr not installed"))
        print("(timings are noisy: other processes share this machine's CPUs)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
