"""Runs a fuzz case through `hatang import-xlsx` / `hatang import` and judges the result.

A case ends in one of two ways, and which one is decided per case (mutations.py):
- a clean refusal: exit 2, a message on stderr naming the place (file, sheet and row, or layer and
  feature), no traceback, the database file byte for byte as before, no backup and no temporary
  file left behind;
- a correct import: exit 0 (or 3 with conflicts), every value the file holds for the columns it has
  is what the database now shows (a conflict, with the local value kept, excuses a difference),
  every field the file does not carry is as before, and no temporary file is left.

Most cases run in this process through `hatang_desktop.cli.main` (the command's own code, without
the ~1 s start of a Python process); `via="subprocess"` runs the real `hatang` for a sample.
The figures of every case judged are kept in FIGURES for the session summary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from hatang_desktop.core.exchange.layout import ColumnSpec, display_value
from hatang_desktop.core.gis.layers import SYSTEM_NAMES, layer_columns

from .book import XlsxBook
from .mutations import CONFLICT, EXCEL_EPOCH, IMPORT, PARENT_OF, REFUSE, Case, Sources

CRASH = "crash"


# -- figures -------------------------------------------------------------------------------------

@dataclass
class Figures:
    tried: int = 0
    refused_cleanly: int = 0
    imported_correctly: int = 0
    failed: int = 0
    lost_values: int = 0
    seconds: float = 0.0
    subprocess_runs: int = 0
    by_kind: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)

    def add(self, verdict: "Verdict") -> None:
        self.tried += 1
        self.lost_values += verdict.lost
        c = self.by_kind[verdict.case.kind]
        if verdict.ok:
            if verdict.outcome == REFUSE:
                self.refused_cleanly += 1
                c["refused"] += 1
            else:
                self.imported_correctly += 1
                c["imported"] += 1
        else:
            self.failed += 1
            c["failed"] += 1
            self.failures.append(verdict.summary())

    def lines(self) -> list[str]:
        out = [f"fuzz cases tried: {self.tried} ({self.subprocess_runs} through the hatang process), "
               f"refused cleanly: {self.refused_cleanly}, imported correctly: {self.imported_correctly}, "
               f"failed: {self.failed}, lost values: {self.lost_values}; {self.seconds:.1f} s"]
        for kind in sorted(self.by_kind):
            c = self.by_kind[kind]
            out.append(f"  {kind:34} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
        if self.failures:
            out.append(f"failing cases ({len(self.failures)}):")
            out += [f"  {f}" for f in self.failures]
        return out


FIGURES = Figures()


# -- running the command -------------------------------------------------------------------------

@dataclass
class Run:
    code: int | None
    stdout: str
    stderr: str
    traceback: str | None = None


def run_cli(argv: list[str], via: str = "inprocess", timeout: float = 120) -> Run:
    if via == "subprocess":
        FIGURES.subprocess_runs += 1
        p = subprocess.run([sys.executable, "-m", "hatang_desktop", *argv], capture_output=True, text=True,
                           timeout=timeout, env=os.environ | {"PYTHONWARNINGS": "ignore"})
        tb = p.stderr if "Traceback (most recent call last)" in p.stderr else None
        return Run(p.returncode, p.stdout, p.stderr, tb)
    from hatang_desktop.cli import main

    out, err = io.StringIO(), io.StringIO()
    tb = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - in a real process: exit 1 and this traceback
        code, tb = 1, traceback.format_exc()
    return Run(code, out.getvalue(), err.getvalue(), tb)


# -- the database: bytes, files, states ------------------------------------------------------------

def settle(path: Path) -> None:
    """Fold the WAL into the file (what the app's close does), so the bytes say everything."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def logical_dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm", "-journal"))}


def read_all_states(db_path: Path, src: Sources, only: set[str] | None = None,
                    rest: dict[str, dict] | None = None) -> dict[str, dict]:
    """Every record's state; with `only`, those tables' read and the others taken from `rest`."""
    from hatang_desktop.core.exchange.records import read_states
    from hatang_desktop.core.storage.database import Database

    with Database.open(db_path, readonly=True) as db, db.session() as s:
        return {f.record: read_states(s, f) if only is None or f.record in only else rest[f.record]
                for f in src.forms}


def table_digests(db_path: Path, tables) -> dict[str, tuple]:
    """Which tables an import touched, without reading them all: per table its row count, version
    sum and latest update, and the tables the change log names (its triggers log every field)."""
    conn = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        logged = conn.execute("SELECT max(id) FROM change_log").fetchone()[0] or 0
        out = {t: conn.execute(f"SELECT count(*), total(version), max(updated_at), total(deleted) FROM {t}").fetchone()
               for t in tables}
        out["_log"] = logged
        return out
    finally:
        conn.close()


def changed_tables(db_path: Path, before: dict[str, tuple]) -> set[str]:
    after = table_digests(db_path, [t for t in before if t != "_log"])
    conn = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        logged = {t for (t,) in conn.execute("SELECT DISTINCT table_name FROM change_log WHERE id > ?",
                                             (before["_log"],))}
    finally:
        conn.close()
    return logged | {t for t in before if t != "_log" and after[t] != before[t]}


def _content(path: Path) -> str:
    """A digest of every row of every table but the R*Tree's (what a backup must hold, whatever
    its pages: a backup made through SQLite's backup API is not the same bytes)."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'rtree%' AND name NOT LIKE 'sqlite%' ORDER BY name")]
        h = hashlib.sha256()
        for t in tables:
            h.update(t.encode() + repr(conn.execute(f"SELECT * FROM {t}").fetchall()).encode())
        return h.hexdigest()
    finally:
        conn.close()


def open_conflicts(db_path: Path) -> dict[tuple[str, str], list]:
    conn = sqlite3.connect(db_path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        out: dict[tuple[str, str], list] = defaultdict(list)
        for u, f, theirs in conn.execute("SELECT record_uuid, field, theirs_value FROM conflicts WHERE status = 'open'"):
            out[(u, f)].append(json.loads(theirs) if theirs is not None else None)
        return out
    finally:
        conn.close()


def apply_local_edits(db_path: Path, edits: list[tuple[str, str, str, Any]]) -> None:
    """Edits made on this machine after the export, the way the app makes them (one operation,
    the version bumped, the change logged)."""
    from sqlalchemy import select

    from hatang_desktop.core.model import SURVEYED_MODELS
    from hatang_desktop.core.storage.database import Database

    with Database.open(db_path) as db:
        with db.operation("sửa tại xã sau khi xuất / local edit", user="Cán bộ xã") as s:
            for table, uuid, attr, value in edits:
                model = SURVEYED_MODELS[table]
                setattr(s.scalars(select(model).where(model.uuid == uuid)).one(), attr, value)


# -- what the file holds ---------------------------------------------------------------------------

@dataclass
class FileRow:
    record: str
    where: str                      # "sheet 'X' row N" / "feature N"
    uuid: str | None
    cells: dict[str, Any]           # column key (or "deleted") -> the value as the file holds it


def _match_header(header, spec, aliases: dict[str, str]) -> ColumnSpec | None:
    if header in (None, ""):
        return None
    header = str(header)
    if header in aliases:
        return next((c for c in spec.columns if c.key == aliases[header]), None)
    for c in spec.columns:
        if header.strip() in (c.header("vi"), c.header("en")):
            return c
    return None


def file_rows(case: Case, src: Sources) -> list[FileRow]:
    if case.fmt == "xlsx":
        return _xlsx_rows(case, src)
    if case.fmt == "zip":  # a sync package: its workbook
        import dataclasses
        import zipfile

        with zipfile.ZipFile(io.BytesIO(case.data)) as z:
            book = json.loads(z.read("hatang-package.json"))["workbook"]["path"]
            return _xlsx_rows(dataclasses.replace(case, data=z.read(book), fmt="xlsx"), src)
    return _gis_rows(case, src)


_EXPORTED_ROWS: dict[tuple[str, str], set] = {}


def _calamine_rows(data: bytes, name: str) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(name).to_python(skip_empty_area=False)


def _xlsx_rows(case: Case, src: Sources) -> list[FileRow]:
    """The rows of the data sheets as a reader (calamine) sees them, except rows that are cell for
    cell the exported ones: they carry no value the database does not hold already, and the
    "nothing else moved" check covers them. (Error cells read as empty here: a case holding one
    must be refused, which the outcome check sees first.)"""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(case.data)) as z:
        book = XlsxBook({i.filename: z.read(i) for i in z.infolist()})
    by_name = {}
    for record, spec in src.specs.items():
        by_name[spec.name("vi")] = spec
        by_name[spec.name("en")] = spec
    out = []
    for name in book.sheet_names:
        spec = by_name.get(name)
        if spec is None:
            continue
        if book.parts.get(book.part(name)) == src.book.parts.get(src.book.part(spec.name("vi"))):
            continue  # the exported sheet itself
        key = (str(src.xlsx), spec.record)
        if key not in _EXPORTED_ROWS:
            _EXPORTED_ROWS[key] = {tuple(r) for r in _calamine_rows(src.xlsx.read_bytes(), spec.name("vi"))[1:]}
        exported = _EXPORTED_ROWS[key]
        rows = _calamine_rows(case.data, name)
        if not rows:
            continue
        cols = {j: _match_header(h, spec, case.aliases) for j, h in enumerate(rows[0])}
        uj = next((j for j, c in cols.items() if c is not None and c.key == "uuid"), None)
        for i in range(1, len(rows)):
            row = rows[i]
            if tuple(row) in exported:
                continue
            raw_uuid = row[uj] if uj is not None and uj < len(row) else None
            uuid = str(raw_uuid).strip().lower() if raw_uuid not in (None, "") else None
            cells = {}
            for j, c in cols.items():
                if c is None or c.kind not in ("field", "deleted"):
                    continue
                cells[c.key] = row[j] if j < len(row) and row[j] != "" else None
            if not any(v not in (None, "") for v in cells.values()) and uuid is None:
                continue
            out.append(FileRow(spec.record, f"sheet '{name}' row {i + 1}", uuid, cells))
    return out


def _gis_rows(case: Case, src: Sources) -> list[FileRow]:
    spec = src.specs[case.record]
    names = {lc.name: lc.spec for lc in layer_columns(spec)}
    names.update({v: next(c for c in spec.columns if c.key == k) for k, v in SYSTEM_NAMES.items()})
    if case.fmt == "geojson":
        features = [(f.get("properties") or {}, f.get("geometry")) for f in json.loads(case.data)["features"]]
        geoms = [shapely.geometry.shape(g) if g else None for _, g in features]
        props = [p for p, _ in features]
    else:
        import tempfile

        import pyogrio

        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "case.gpkg"
            p.write_bytes(case.data)
            frame = pyogrio.read_dataframe(p, layer="sites")
        geoms = list(frame.geometry)
        props = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
                 for r in frame.drop(columns="geometry").to_dict("records")]
    out = []
    for n, (p, g) in enumerate(zip(props, geoms)):
        cells = {}
        for name, value in p.items():
            c = names.get(name)
            if c is not None and c.kind == "field":
                cells[c.key] = value
        if g is not None and not g.is_empty:
            if g.geom_type == "Point":
                cells["lat"], cells["lon"] = g.y, g.x
            elif "geom" in {c.key for c in spec.columns}:
                cells["geom"] = g.wkt
        uuid = p.get("UUID")
        out.append(FileRow(case.record, f"feature {n + 1}", str(uuid).lower() if uuid else None, cells))
    return out


# -- comparing values ----------------------------------------------------------------------------

def norm(value, col: ColumnSpec | None):
    """A value as a person reads it, so the file's cell and the database's display compare."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if col is None or col.kind == "deleted":
        return value if not isinstance(value, str) else value.strip()
    kind = col.field.type
    if kind in ("decimal", "integer", "position"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value.strip().replace(",", "."))
            except ValueError:
                return value.strip()
        return float(value)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, (int, float)):
            return EXCEL_EPOCH + dt.timedelta(days=int(value))
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(text[:10], fmt).date()
            except ValueError:
                pass
        return text
    if kind == "geometry":
        try:
            return shapely.normalize(shapely.from_wkt(str(value)))
        except Exception:  # noqa: BLE001 - shown as text
            return str(value)
    if kind == "boolean" and isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)  # the merge's own tolerance
    if hasattr(a, "geom_type") and hasattr(b, "geom_type"):
        return a.equals_exact(b, 1e-7)  # stored with 7 decimals (~1 cm)
    return a == b


def shown(state, key: str, col: ColumnSpec, src: Sources):
    if col.kind == "deleted":
        return state.deleted
    return norm(display_value(col, state.values.get(key), src.forms, src.communes), col)


def _short(v) -> str:
    text = v.wkt if hasattr(v, "wkt") else repr(v)
    return text if len(text) < 70 else text[:60] + f"...({len(text)} chars)"


# -- the verdict -----------------------------------------------------------------------------------

@dataclass
class Verdict:
    case: Case
    outcome: str
    run: Run
    problems: list[str] = field(default_factory=list)
    lost: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        exp = "/".join(self.case.outcomes)
        head = self.run.stderr.strip().splitlines()[-1][:160] if self.run.stderr.strip() else ""
        return (f"{self.case.id} [{self.case.kind}] expected {exp}, got {self.outcome} (exit {self.run.code}): "
                + "; ".join(self.problems[:4]) + (f" | stderr: {head}" if head and self.outcome != REFUSE else "")
                + (f" | {self.case.note}" if self.case.note else ""))


def judge(case: Case, src: Sources, workdir: Path, via: str = "inprocess", count: bool = True) -> Verdict:
    """Run `case` on a fresh copy of the sample in `workdir` and judge it (see the module doc);
    `count=False` keeps it out of the figures (the oracle's own tests)."""
    t0 = time.perf_counter()
    dbdir, indir = workdir / "db", workdir / "in"
    dbdir.mkdir(parents=True)
    indir.mkdir()
    db = dbdir / "sample.db"
    shutil.copyfile(src.db, db)
    before_states = src.states
    if case.local_edits:
        apply_local_edits(db, case.local_edits)
        before_states = read_all_states(db, src)
    settle(db)
    before = digest(db)
    if case.local_edits:
        _DIGESTS[("local", repr(case.local_edits))] = table_digests(db, [f.record for f in src.forms])
        _BEFORE_CONTENT[("local", repr(case.local_edits))] = _content(db)
    files_before = listing(dbdir)
    infile = indir / case.filename
    infile.write_bytes(case.data)
    command = "import-xlsx" if case.fmt in ("xlsx", "zip") else "import"
    run = run_cli([command, str(db), str(infile), "--json"], via)
    if run.traceback or run.code not in (0, 2, 3):
        outcome = CRASH
    else:
        outcome = {0: IMPORT, 2: REFUSE, 3: CONFLICT}[run.code]
    v = Verdict(case, outcome, run)
    p = v.problems
    if run.traceback:
        p.append("traceback: " + run.traceback.strip().splitlines()[-1][:200])
    if outcome not in case.outcomes:
        p.append(f"expected {'/'.join(case.outcomes)}")
    if run.stdout.strip():
        try:
            json.loads(run.stdout)
        except ValueError:
            p.append("--json printed something that is not one JSON document")
    settle(db)
    after = digest(db)
    new_in = listing(indir) - {infile.name}
    if new_in:
        p.append(f"files left beside the input: {sorted(new_in)}")
    new_db = listing(dbdir) - files_before
    if outcome == REFUSE or outcome == CRASH and after == before:
        if after != before:
            p.append("the database changed")
        if new_db:
            p.append(f"files written for a refused import: {sorted(new_db)}")
        if outcome == REFUSE:
            _check_message(v, infile)
    else:
        photos = dbdir / f"{db.stem}_anh"   # a package's photos go there
        temps = [n for n in new_db if ".bak" not in n and not (case.photos and n == photos.name)]
        if temps:
            p.append(f"files left beside the database: {sorted(temps)}")
        backups = sorted(dbdir / n for n in new_db if ".bak" in n)
        if outcome in (IMPORT, CONFLICT) and after != before and not backups:
            p.append("no backup taken before writing")
        for b in backups:
            if not b.read_bytes()[:16].startswith(b"SQLite format 3"):
                p.append(f"the backup {b.name} is not a database")
            # The backup's content, on a sample of the imports (item 8 has its own tests).
            elif (case.local_edits or FIGURES.tried % 8 == 0) and digest(b) != before \
                    and _content(b) != _content_before(src, case):
                p.append(f"the backup {b.name} is not the database as it was before the import")
        changed = changed_tables(db, _digests_before(src, case))
        changed |= {c for c, (parent, _k) in PARENT_OF.items() if parent in changed}
        after_states = read_all_states(db, src, changed, before_states)
        if REFUSE in case.outcomes and IMPORT not in case.outcomes and CONFLICT not in case.outcomes:
            # Imported what had to be refused: every value it moved is one the user did not mean to lose.
            v.lost = _changed(before_states, after_states)
            if v.lost:
                p.append(f"{v.lost} stored values changed by a file that had to be refused")
        else:
            _check_values(v, src, before_states, after_states, open_conflicts(db))
        if case.photos:
            _check_photos(v, db, photos)
        for w in case.warnings:
            if w not in run.stdout:
                p.append(f"the import's warnings do not name {w!r}")
        if case.secret and case.secret in "\n".join(logical_dump(db)):
            p.append("the external entity's file content reached the database")
    if any(p.name == "thoat_ra_ngoai.jpg" for p in workdir.parent.rglob("thoat_ra_ngoai.jpg")):
        p.append("a file was written outside the photo folder (path traversal)")
    if case.secret and (case.secret in run.stdout or case.secret in run.stderr):
        p.append("the external entity's file content was printed")
    if outcome == CONFLICT and CONFLICT in case.outcomes and not open_conflicts(db):
        p.append("exit 3 but no open conflict stored")
    if count:
        FIGURES.seconds += time.perf_counter() - t0
        FIGURES.add(v)
    return v


_BEFORE_CONTENT: dict[tuple, str] = {}
_DIGESTS: dict[tuple, dict[str, str]] = {}


def _digests_before(src: Sources, case: Case) -> dict[str, tuple]:
    if case.local_edits:
        return _DIGESTS[("local", repr(case.local_edits))]
    key = ("template", str(src.db))
    if key not in _DIGESTS:
        _DIGESTS[key] = table_digests(src.db, [f.record for f in src.forms])
    return _DIGESTS[key]


def _content_before(src: Sources, case: Case) -> str:
    """Only needed when a backup's bytes differ from the database's (made through SQLite's backup
    API, say): the content of the "before" database, rebuilt and remembered."""
    if case.local_edits:
        return _BEFORE_CONTENT[("local", repr(case.local_edits))]  # taken just before the import
    key = ("template", str(src.db))
    if key not in _BEFORE_CONTENT:
        _BEFORE_CONTENT[key] = _content(src.db)
    return _BEFORE_CONTENT[key]


def _check_photos(v: Verdict, db: Path, folder: Path) -> None:
    """A package's photos: recorded, and each file in the photo folder with its sha256."""
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT file_name, sha256 FROM photos WHERE deleted = 0").fetchall()
    finally:
        conn.close()
    if len(rows) != v.case.photos:
        v.problems.append(f"{len(rows)} photos recorded, the package has {v.case.photos}")
    for name, sha in rows:
        f = folder / name
        if not f.is_file() or hashlib.sha256(f.read_bytes()).hexdigest() != sha:
            v.problems.append(f"photo {name}: no file with its sha256 in {folder.name}")
            v.lost += 1


def _check_message(v: Verdict, infile: Path) -> None:
    err = v.run.stderr
    lines = [line for line in err.splitlines() if line.strip()]
    if not lines:
        v.problems.append("refused without a message on stderr")
        return
    if not lines[0].startswith("hatang:"):
        v.problems.append(f"the message does not start 'hatang:': {lines[0][:100]!r}")
    for place in v.case.places:
        target = str(infile) if place == infile.name else place
        if target not in err:
            v.problems.append(f"the message does not name {place!r}: {lines[-1][:200]!r}")


def _changed(before: dict, after: dict) -> int:
    n = 0
    for record, states in after.items():
        for u, s in states.items():
            b = before[record].get(u)
            if b is None:
                n += len([x for x in s.values.values() if x not in (None, "", ())])
                continue
            n += sum(1 for k, x in s.values.items() if not _same_raw(x, b.values.get(k)))
            n += b.deleted != s.deleted
    return n


def _same_raw(a, b) -> bool:
    from hatang_desktop.core.exchange.records import same_value

    return same_value(a, b)


def _check_values(v: Verdict, src: Sources, before: dict, after: dict, conflicts: dict) -> None:
    """Every value of the file is what the database shows; everything else is as it was."""
    case, p = v.case, v.problems
    rows = file_rows(case, src)
    expected: dict[tuple[str, str, str], Any] = {}       # (record, uuid, key) -> shown value
    where: dict[tuple[str, str, str], str] = {}
    new_rows: dict[str, list[FileRow]] = defaultdict(list)
    for r in rows:
        if r.record in case.unchanged_sheets:
            continue  # the case says these records must come out as they went in
        if r.uuid is None:
            new_rows[r.record].append(r)
            continue
        for key, raw in r.cells.items():
            col = src.column(r.record, key) if key != "deleted" else src.column(r.record, "deleted")
            value = (str(raw).strip().lower() in ("x", "1", "có", "co", "xóa", "xoa", "yes", "true")
                     if key == "deleted" and raw not in (None, "") else False if key == "deleted" else norm(raw, col))
            expected[(r.record, r.uuid, key)] = value
            where[(r.record, r.uuid, key)] = r.where
    record_of = {u: rec for rec, states in {**before, **after}.items() for u in states}
    for (u, key), value in case.expected.items():
        rec = case.record or record_of.get(u)
        if rec is None:
            p.append(f"{u}: no such record after the import")
            continue
        expected[(rec, u, key)] = norm(value, src.column(rec, key))
        where.setdefault((rec, u, key), "the case")
    for u in case.deleted:
        rec = record_of[u]
        expected[(rec, u, "deleted")] = True
    mismatches = []
    for (rec, u, key), want in expected.items():
        state = after[rec].get(u)
        if state is None:
            mismatches.append(f"{where[(rec, u, key)]}: record {u} not in the database")
            continue
        col = src.column(rec, key)
        got = shown(state, key, col, src)
        if same(got, want):
            continue
        if (u, key) in conflicts and before[rec].get(u) is not None and \
                _same_raw(state.values.get(key), before[rec][u].values.get(key)):
            continue  # kept as a conflict with the local value: nothing overwritten, nothing lost
        mismatches.append(f"{where[(rec, u, key)]} {key}: file {_short(want)}, database {_short(got)}")
    # What the file does not carry must not move (children of a deleted parent excepted: they go too).
    covered = {(rec, u, key) for rec, u, key in expected}
    for rec, states in before.items():
        parent = PARENT_OF.get(rec)
        for u, b in states.items():
            a = after[rec].get(u)
            if a is None:
                mismatches.append(f"{rec} {u} vanished")
                continue
            if a.values == b.values and a.deleted == b.deleted:
                continue
            for key, old in b.values.items():
                if (rec, u, key) in covered or _same_raw(a.values.get(key), old):
                    continue
                mismatches.append(f"{rec} {u} {key} changed though the file does not carry it: "
                                  f"{_short(old)} -> {_short(a.values.get(key))}")
            if (rec, u, "deleted") in covered or a.deleted == b.deleted:
                continue
            if parent and a.deleted and after[parent[0]].get(b.values.get(parent[1])) is not None and \
                    after[parent[0]][b.values[parent[1]]].deleted:
                continue
            mismatches.append(f"{rec} {u} {'deleted' if a.deleted else 'restored'} though the file does not say so")
    # Children of a record the import deleted go with it (the app's own delete does so).
    for child, (parent, key) in PARENT_OF.items():
        for u, a in after[child].items():
            par = after[parent].get(a.values.get(key))
            was = before[parent].get(a.values.get(key))
            if not a.deleted and par is not None and par.deleted and was is not None and not was.deleted:
                mismatches.append(f"{child} {u} still live under the deleted {parent[:-1]} {a.values.get(key)}")
    # New records: one per row typed without a UUID (with its tenant), nothing else.
    for rec, states in after.items():
        listed = {u for (r, u, _k) in expected if r == rec}
        unexplained = [u for u in states if u not in before[rec] and u not in listed]
        if rec in PARENT_OF:
            parent, key = PARENT_OF[rec]
            unexplained = [u for u in unexplained if states[u].values.get(key) in before[parent]]
        typed = new_rows.get(rec, [])
        if len(unexplained) != len(typed):
            mismatches.append(f"{rec}: {len(unexplained)} new records for {len(typed)} rows typed without UUID")
            continue
        for r in typed:
            def fits(u, r=r, rec=rec):
                return all(same(shown(states[u], k, src.column(rec, k), src), norm(x, src.column(rec, k)))
                           for k, x in r.cells.items() if k != "deleted" and x not in (None, ""))
            hit = next((u for u in unexplained if fits(u)), None)
            if hit is None:
                mismatches.append(f"{r.where}: no new record holds this row's values")
            else:
                unexplained.remove(hit)
    if mismatches:
        v.lost = len(mismatches)
        p.append(f"{len(mismatches)} values not as the file says: " + "; ".join(mismatches[:3]))
