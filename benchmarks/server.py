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
- indicators: `hatang indicators --json` on the server just loaded and on its file, alternating.
- map (province): what the app reads to show the map, from the server (survey layers for the
  mapped extent, by box through the GiST index) and from the file, alternating; and what a pan
  to one commune reads from the server.
- import: the province's workbook merged into an empty server database and into an empty file
  (`hatang import-xlsx`: the one merge, validation included), same workbook, same run.
- sync: 20 communes' files (`hatang init --commune`, first `hatang sync` pulls their records)
  each edit 1% of their sites and poles while the department edits some of the same records on
  the server (some the same field, some another field); then the 20 `hatang sync` run at once,
  as processes. Printed: the time until all have synced, beside one commune syncing alone, and
  the audit of every edit on both sides: applied, or a stored conflict; anything else is a LOST
  update (must be 0).
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


def best_of(cmd: list[str], n: int = 3) -> float:
    return min(timed(cmd) for _ in range(n))


def bench_indicators(url: str, path: Path, label: str) -> None:
    """The plan indicators from the server and from the file it was loaded from, alternating."""
    server = file = float("inf")
    for _ in range(3):
        server = min(server, timed(HATANG + ["indicators", url, "--json"]))
        file = min(file, timed(HATANG + ["indicators", str(path), "--json"]))
    print(f"indicators {label}: from the server {server:6.1f} s   from the file {file:6.1f} s   ratio "
          f"{server / file:4.2f}x (whole command, best of 3)   ({load_average()})", flush=True)


def bench_map(url: str, path: Path, label: str) -> None:
    """What the app reads to show the map: the whole file, or on the server the survey layers
    for the mapped extent through the GiST index (ui/loader.read_open_database), alternating;
    then what a pan to one commune reads from the server (read_survey for its box)."""
    from hatang_desktop.core.map_data import (Extent, full_extent, mercator_to_lonlat, prepare_levels, read_map,
                                              read_survey)
    from hatang_desktop.core.storage.targets import open_database

    def lonlat(extent: Extent) -> tuple[float, float, float, float]:   # as ui/loader.extent_lonlat
        (w, e), (s, n) = mercator_to_lonlat([extent.min_x, extent.max_x], [extent.min_y, extent.max_y])
        return float(w), float(s), float(e), float(n)

    def open_map(target: str):
        with open_database(target, readonly=True) as db:
            box = lonlat(full_extent(db)) if db.dialect == "postgresql" else None
            data = read_map(db, box=box)
            prepare_levels(data.routes)
            prepare_levels(data.boundaries)
            return data

    on_server = on_file = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        open_map(url)
        on_server = min(on_server, time.perf_counter() - t)
        t = time.perf_counter()
        open_map(str(path))
        on_file = min(on_file, time.perf_counter() - t)
    import psycopg

    with psycopg.connect(url) as conn:
        w, s_, e, n = conn.execute(
            "SELECT min(lon), min(lat), max(lon), max(lat) FROM sites WHERE commune_code = "
            "(SELECT commune_code FROM sites GROUP BY commune_code ORDER BY count(*) DESC LIMIT 1)").fetchone()
    pan = float("inf")
    with open_database(url, readonly=True) as db:
        for _ in range(3):
            t = time.perf_counter()
            read_survey(db, (w, s_, e, n))
            pan = min(pan, time.perf_counter() - t)
    print(f"map {label}: open from the server {on_server * 1000:7.0f} ms   from the file {on_file * 1000:7.0f} ms   "
          f"ratio {on_server / on_file:4.2f}x; a pan to one commune reads {pan * 1000:5.0f} ms from the server "
          f"(best of 3)   ({load_average()})", flush=True)


def bench_load(cluster: pg.Cluster, path: Path, label: str, indicators: bool = False, maps: bool = False) -> None:
    url = cluster.new_database("load")
    ours = timed(HATANG + ["server", "init", url, "--from", str(path)])
    ref_db = cluster.new_database("gdal")
    dbname = ref_db.rsplit("/", 1)[1]
    conn = f"PG:host=127.0.0.1 port={cluster.port} dbname={dbname} user={cluster.superuser}"
    gdal = timed(["ogr2ogr", "-f", "PostgreSQL", conn, str(path), *GDAL_TABLES, "-lco", "SPATIAL_INDEX=NONE"])
    n = rows_of(path)
    print(f"load {label}: {n:,} rows  hatang server init --from {ours:7.1f} s   ogr2ogr -f PostgreSQL "
          f"{gdal:7.1f} s   ratio {ours / gdal:4.2f}x   ({load_average()})", flush=True)
    cluster.sql(f'DROP DATABASE "{dbname}"')
    if indicators:
        bench_indicators(url, path, label)
    if maps:
        bench_map(url, path, label)


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


def _parallel(cmds: list[list[str]]) -> tuple[float, list[subprocess.CompletedProcess]]:
    t = time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    outs = []
    for p, c in zip(procs, cmds):
        out, err = p.communicate()
        outs.append(subprocess.CompletedProcess(c, p.returncode, out, err))
    elapsed = time.perf_counter() - t
    bad = [o for o in outs if o.returncode not in (0, 3)]
    if bad:
        raise SystemExit(f"sync failed ({bad[0].returncode}):\n{bad[0].stderr[-2000:]}")
    return elapsed, outs


def bench_sync(cluster: pg.Cluster, path: Path, work: Path, communes: int = 20, share: float = 0.01) -> None:
    import random

    import psycopg

    rng = random.Random(19)
    url = cluster.new_database("sync")
    timed(HATANG + ["server", "init", url, "--from", str(path)])
    with psycopg.connect(url) as conn:
        chosen = [c for (c,) in conn.execute(
            "SELECT commune_code FROM sites WHERE deleted = 0 AND commune_code IS NOT NULL "
            "GROUP BY commune_code ORDER BY count(*) DESC, commune_code LIMIT %s", (communes,))]
    files = [work / f"xa_{code}.htdb" for code in chosen]
    for code, f in zip(chosen, files):
        timed(HATANG + ["init", str(f), "--province", "42", "--commune", code])
    first, _ = _parallel([HATANG + ["sync", str(f), url] for f in files])

    # Edits: 1% of each commune's sites (name) and poles (road) in its file; the department edits a
    # third of the same records' same field (a conflict to keep), a third another field (both
    # kept), on the server, before the communes sync.
    import sqlite3

    commune_edits, dept_edits = [], []
    stamp = "2026-12-06 10:00:00.000000"
    for code, f in zip(chosen, files):
        lite = sqlite3.connect(f)
        lite.execute("PRAGMA foreign_keys = ON")
        lite.execute("BEGIN IMMEDIATE")
        lite.execute('INSERT INTO operations(started_at, "user", source, description) VALUES (?, ?, ?, ?)',
                     (stamp, f"xa {code}", f"device:bench-{code}", "sửa khi khảo sát"))
        for table, field in (("sites", "name"), ("poles", "road")):
            uuids = [u for (u,) in lite.execute(f"SELECT uuid FROM {table} WHERE deleted = 0 AND commune_code = ? "
                                                "ORDER BY uuid", (code,))]
            for u in rng.sample(uuids, max(1, round(len(uuids) * share))):
                value = f"{field} xã {code} {u[:6]}"
                lite.execute(f"UPDATE {table} SET {field} = ?, version = version + 1, updated_at = ?, "
                             f"updated_by = ?, source = ? WHERE uuid = ?", (value, stamp, f"xa {code}",
                                                                          f"device:bench-{code}", u))
                commune_edits.append((table, u, field, value))
                roll = rng.random()
                if roll < 1 / 3:
                    dept_edits.append((table, u, field, f"{field} Sở {u[:6]}"))
                elif roll < 2 / 3:
                    dept_edits.append((table, u, "note", f"ghi chú Sở {u[:6]}"))
        lite.execute("COMMIT")
        lite.close()
    with psycopg.connect(url) as conn:
        for table, u, field, value in dept_edits:
            conn.execute(f"UPDATE {table} SET {field} = %s WHERE uuid = %s", (value, u))
        conn.commit()

    alone, _ = _parallel([HATANG + ["sync", str(files[-1]), url]])
    together, outs = _parallel([HATANG + ["sync", str(f), url] for f in files[:-1]])
    _parallel([HATANG + ["sync", str(f), url] for f in files])   # a second round: everyone pulls

    with psycopg.connect(url) as conn:
        server_conflicts = {(u, fld) for u, fld in conn.execute(
            "SELECT record_uuid, field FROM conflicts WHERE status = 'open'")}
        def now(table, u, field):
            return conn.execute(f"SELECT {field} FROM {table} WHERE uuid = %s", (u,)).fetchone()[0]
        file_conflicts = set()
        for f in files:
            lite = sqlite3.connect(f)
            file_conflicts |= set(lite.execute("SELECT record_uuid, field FROM conflicts WHERE status = 'open'"))
            lite.close()
        audit = {"applied": 0, "conflict": 0, "lost": 0}
        lost = []
        for table, u, field, value in commune_edits + dept_edits:
            if now(table, u, field) == value:
                audit["applied"] += 1
            elif (u, field) in server_conflicts or (u, field) in file_conflicts:
                audit["conflict"] += 1
            else:
                audit["lost"] += 1
                lost.append((table, u, field, value, now(table, u, field)))
    print(f"sync {len(files)} communes: first sync (pull) all at once {first:6.1f} s; after 1% edits: one commune "
          f"alone {alone:5.1f} s, the other {len(files) - 1} at once {together:6.1f} s   ({load_average()})")
    print(f"  edits: {len(commune_edits)} in the communes' files, {len(dept_edits)} by the department "
          f"(same records); applied {audit['applied']}, conflicts kept {audit['conflict']}, "
          f"LOST {audit['lost']}", flush=True)
    for item in lost[:10]:
        print("  lost:", item)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", type=Path, default=Path("/tmp/changes_province.db"))
    parser.add_argument("--national", type=Path, default=Path("/tmp/changes_big.db"))
    parser.add_argument("--only", default="load,indicators,map,import,sync")
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
                    bench_load(cluster, path, label, indicators="indicators" in wanted,
                               maps="map" in wanted and label == "province")
                else:
                    print(f"load {label}: {path} missing (benchmarks/map_render.py builds it)")
        if "import" in wanted and args.province.exists():
            bench_import(cluster, args.province, work)
        if "sync" in wanted and args.province.exists():
            bench_sync(cluster, args.province, work)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
