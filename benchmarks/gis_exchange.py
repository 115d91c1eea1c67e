"""GIS exchange speed at national scale: export to GeoPackage and import it into a fresh database,
with GDAL's ogr2ogr moving the same features in the same run as the reference.

    python benchmarks/gis_exchange.py [--db /tmp/hatang_big.db] [--keep DIR] [--only export] [--runs N]
    python benchmarks/gis_exchange.py --only import [--gpkg /tmp/national_export.gpkg] [--runs 3]

--only import times the import alone: of --gpkg when given (a file `hatang export` made of --db),
else of a GeoPackage exported from --db first (not timed). Each run imports into a fresh copy of
an empty database of --db's scope (the country's admin units, or the province's), alternating
with ogr2ogr; the best of --runs of each is reported, with the load average at each run.

The source database is only read. References, timed in the same run on the same features:
  export: `ogr2ogr -f GPKG ref.gpkg ours.gpkg` (GDAL writing the same layers and attributes),
          best of --runs each, ours and ogr2ogr alternating (which goes first alternates too);
  import: `ogr2ogr -f SQLite ref.sqlite ours.gpkg` (GDAL reading them into a SQLite file).
Each figure is printed with the machine's load average (1, 5, 15 min) when it was taken.
Our side does more than GDAL's (Vietnamese labels, validation of every field against the forms,
matching, a transaction with change-log attribution), so read the ratio as "cost of doing it
properly", not as parity. Timings are noisy: other processes share the machine's two CPUs.
"""

from __future__ import annotations

import argparse
import os
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


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(label: str, fn):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    print(f"  {label:<46} {dt:8.2f} s   ({load()})", flush=True)
    return out, dt


def export_runs(src: Database, out: Path, ref: Path, runs: int, have_ogr: bool):
    """Best of `runs` for our export and for ogr2ogr's copy of its file, alternating (ogr2ogr
    first on odd runs: whichever runs second may find the file in the page cache)."""
    ours: list[float] = []
    theirs: list[float] = []
    result = None

    def run_ours(i: int):
        nonlocal result
        result, dt = timed(f"export {i + 1}: hatang (GeoPackage)", lambda: export_gis(src, out))
        ours.append(dt)

    def run_ref(i: int):
        ref.unlink(missing_ok=True)
        _, dt = timed(f"export {i + 1}: ogr2ogr -f GPKG (same layers)",
                      lambda: ogr2ogr("-f", "GPKG", str(ref), str(out)))
        theirs.append(dt)

    for i in range(runs):
        order = (run_ours, run_ref) if i % 2 == 0 or not out.exists() else (run_ref, run_ours)
        for step in order:
            if step is run_ref and not have_ogr:
                continue
            step(i)
    return result, min(ours), (min(theirs) if theirs else None)


def ogr2ogr(*args: str) -> None:
    done = subprocess.run(["ogr2ogr", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ogr2ogr failed: {done.stderr}")


def empty_like(src: Database, path: Path) -> None:
    """An empty database of the scope of `src`: every province's admin units for a national
    database, its province's for a province's (as `hatang init` makes it)."""
    from hatang_desktop.core.provinces_db import init_province_database

    if src.meta("scope") == "national":
        fresh_national(path).close()
    else:
        init_province_database(path, src.meta("province_code"), user="benchmark").close()


class Stages:
    """The import's progress stages (read, validate, match, plan, write) with when each began."""

    def __init__(self):
        self.start, self.marks = time.perf_counter(), []

    def __call__(self, stage: str, _fraction: float) -> None:
        self.marks.append((stage.split(" / ")[-1], time.perf_counter() - self.start))

    def shown(self, total: float) -> str:
        ends = [t for _s, t in self.marks[1:]] + [total]
        return ", ".join(f"{name} {end - t:.1f} s" for (name, t), end in zip(self.marks, ends))


def import_only(args) -> int:
    """The import alone: best of --runs, each into a fresh copy of an empty database, alternating
    with `ogr2ogr -f SQLite` of the same file."""
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gis_import_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    have_ogr = shutil.which("ogr2ogr") is not None
    try:
        with Database.open(args.db, readonly=True) as src:
            gpkg = Path(args.gpkg) if args.gpkg else work / "hatang.gpkg"
            if not args.gpkg:
                timed("export (not timed as the import): hatang", lambda: export_gis(src, gpkg))
            for old in work.glob("empty.db*"):
                old.unlink()   # a --keep folder of an earlier run
            empty_like(src, work / "empty.db")
        print(f"Source: {args.db}   file: {gpkg} ({gpkg.stat().st_size / 1e6:.0f} MB)   work: {work}")
        ours, ref = [], []
        for run in range(args.runs):
            target = work / "fresh.db"
            for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
                p.unlink(missing_ok=True)
            shutil.copyfile(work / "empty.db", target)
            with Database.open(target) as fresh:
                before = load()
                stages = Stages()
                imported, dt = timed(f"run {run + 1}: import: hatang (validate, match, merge, write)",
                                     lambda: import_gis(fresh, gpkg, backup=False, progress=stages))
            print("    stages: " + stages.shown(dt))
            print(f"    {before} before, {load()} after; " + ", ".join(f"{k} {v}" for k, v in imported.total.items()))
            ours.append(dt)
            if have_ogr:
                (work / "ref.sqlite").unlink(missing_ok=True)
                before = load()
                _, dt = timed(f"run {run + 1}: import reference: ogr2ogr -f SQLite",
                              lambda: ogr2ogr("-f", "SQLite", str(work / "ref.sqlite"), str(gpkg)))
                print(f"    {before} before, {load()} after")
                ref.append(dt)
        features = sum(imported.total.values())
        best = min(ours)
        print()
        print(f"import: hatang {best:.1f} s ({features / best:,.0f} records/s), best of {len(ours)}" +
              (f"; ogr2ogr -f SQLite {min(ref):.1f} s; ratio {best / min(ref):.1f}x" if ref else
               "; ogr2ogr not installed"))
        print("(timings are noisy: other processes share this machine's CPUs; see the load averages)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="/tmp/hatang_big.db", help="national-scale sample (read only)")
    ap.add_argument("--keep", help="keep the files in this folder instead of a temporary one")
    ap.add_argument("--only", choices=("export", "import"), help="time only the export or only the import")
    ap.add_argument("--gpkg", help="with --only import: the GeoPackage to import (`hatang export` of --db)")
    ap.add_argument("--runs", type=int, default=2, help="best of this many runs each, ours and ogr2ogr "
                    "alternating (default 2)")
    args = ap.parse_args()
    if not Path(args.db).exists():
        print(f"{args.db} not found: make it with `hatang sample {args.db} --province all --sites 120000`")
        return 1
    if args.only == "import":
        return import_only(args)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gis_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    have_ogr = shutil.which("ogr2ogr") is not None
    print(f"Source: {args.db}   work: {work}")
    try:
        out = work / "hatang.gpkg"
        with Database.open(args.db, readonly=True) as src:
            result, ours_export, ref_export = export_runs(src, out, work / "ref.gpkg", args.runs, have_ogr)
        features = sum(result.counts.values())
        print("  " + ", ".join(f"{k} {v}" for k, v in result.counts.items()) + f"  ({features} features, "
              f"{out.stat().st_size / 1e6:.0f} MB)")
        ours_import = ref_import = None
        if args.only != "export":
            fresh, _ = timed("fresh national database (admin units)", lambda: fresh_national(work / "fresh.db"))
            with fresh:
                imported, ours_import = timed("import: hatang (validate, match, merge, write)",
                                              lambda: import_gis(fresh, out, backup=False))
            print("  " + ", ".join(f"{k} {v}" for k, v in imported.total.items()))
            if have_ogr:
                _, ref_import = timed("import reference: ogr2ogr -f SQLite (same layers)",
                                      lambda: ogr2ogr("-f", "SQLite", str(work / "ref.sqlite"), str(out)))
        print()
        print(f"export (best of {args.runs}): hatang {ours_export:.2f} s ({features / ours_export:,.0f} features/s)" +
              (f", ogr2ogr {ref_export:.2f} s, ratio {ours_export / ref_export:.2f}x" if ref_export else
               ", ogr2ogr not installed") + f"   ({load()})")
        if ours_import is not None:
            print(f"import: hatang {ours_import:.1f} s ({features / ours_import:,.0f} features/s)" +
                  (f", ogr2ogr {ref_import:.1f} s, ratio {ours_import / ref_import:.1f}x" if ref_import else
                   ", ogr2ogr not installed") + f"   ({load()})")
        print("(timings are noisy: other processes share this machine's CPUs)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
