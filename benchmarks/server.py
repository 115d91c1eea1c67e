"""The department's server on PostgreSQL + PostGIS (issue 19): a benchmark, not a test.

    python benchmarks/server.py [--province P.db] [--national N.db] [--only load,import,...]

Starts its own throwaway PostgreSQL 15 + PostGIS 3 cluster (tests/pg.py: 127.0.0.1, a free port,
a temporary folder, fsync off as in the tests) and stops it at the end. Defaults:
/tmp/changes_province.db (the Hà Tĩnh sample, 3,600 sites) and /tmp/changes_big.db (the national
sample, 120k sites): build them with benchmarks/map_render.py. Both are read, never modified.

Sections, each printed beside its reference measured in the same run:
- load: a department's file moved onto the server (`hatang server init --from`, COPY with the
  triggers off, history kept, PostGIS shapes computed), against GDAL's `ogr2ogr -f PostgreSQL` of
  the same tables (COPY as well, no history, no shapes).
- import: the province's workbook merged into an empty server database and into an empty file
  (`hatang import-xlsx`: the one merge, validation included), same workbook, same run.
Figures are wall times, best of N where N > 1; the machine's load average is printed with them.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pg  # noqa: E402

HATANG = [sys.executable, "-m", "hatang_desktop.cli"]
GDAL_TABLES = ("admin_units", "sites", "site_tenants", "poles", "pole_attachments", "fibre_routes", "zones",
               "findings", "change_log")


def load_average() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t
    if done.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(cmd[:6])}… failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def rows_of(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in GDAL_TABLES)
    finally:
        conn.close()


def bench_load(cluster: pg.Cluster, path: Path, label: str) -> None:
    url = cluster.new_database("load")
    ours = timed(HATANG + ["server", "init", url, "--from", str(path)])
    ref_db = cluster.new_database("gdal")
    dbname = ref_db.rsplit("/", 1)[1]
    conn = f"PG:host=127.0.0.1 port={cluster.port} dbname={dbname} user={cluster.superuser}"
    gdal = timed(["ogr2ogr", "-f", "PostgreSQL", conn, str(path), *GDAL_TABLES, "-lco", "SPATIAL_INDEX=NONE"])
    n = rows_of(path)
    print(f"load {label}: {n:,} rows  hatang server init --from {ours:7.1f} s   ogr2ogr -f PostgreSQL "
          f"{gdal:7.1f} s   ratio {ours / gdal:4.2f}x   ({load_average()})", flush=True)


def bench_import(cluster: pg.Cluster, path: Path, work: Path) -> None:
    book = work / "province.xlsx"
    timed(HATANG + ["export-xlsx", str(path), str(book)])
    server = cluster.new_database("import")
    timed(HATANG + ["server", "init", server, "--province", "42"])
    lite = work / "empty.db"
    timed(HATANG + ["init", str(lite), "--province", "42"])
    on_server = timed(HATANG + ["import-xlsx", server, str(book)])
    on_file = timed(HATANG + ["import-xlsx", str(lite), str(book)])
    print(f"import-xlsx province workbook: into the server {on_server:6.1f} s   into a file {on_file:6.1f} s   "
          f"ratio {on_server / on_file:4.2f}x   ({load_average()})", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", type=Path, default=Path("/tmp/changes_province.db"))
    parser.add_argument("--national", type=Path, default=Path("/tmp/changes_big.db"))
    parser.add_argument("--only", default="load,import")
    args = parser.parse_args(argv)
    why = pg.missing()
    if why:
        raise SystemExit(why)
    wanted = set(args.only.split(","))
    cluster = pg.Cluster().start()
    work = Path(tempfile.mkdtemp(prefix="hatang-bench-server-"))
    try:
        if "load" in wanted:
            for label, path in (("province", args.province), ("national", args.national)):
                if path.exists():
                    bench_load(cluster, path, label)
                else:
                    print(f"load {label}: {path} missing (benchmarks/map_render.py builds it)")
        if "import" in wanted and args.province.exists():
            bench_import(cluster, args.province, work)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
