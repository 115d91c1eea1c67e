"""Export a database (or one commune of it) to the department workbook.

The sheets: a summary counted by SQLite, a sheet per record type (`export_rows`), `_metadata`, and a
hidden `_base_<record>` sheet per record type with each record's version and fingerprints. Every
process that renders sheets builds the same list (`_sheets`), so a forked worker can render some
of them (`export_parallel`) with the same styles and list ranges as this process.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from ... import __version__
from .. import schema
from ..cancel import Cancel, checkpoint
from ..errors import InvalidInputError
from ..perf import gc_paused
from ..forms import TECH_COLUMNS, Forms, load_forms
from ..storage.database import Database
from ..storage.dialect import SQLITE, raw, schema_version
from .history import received_versions
from .layout import (BASE_FIELDS, BASE_SHEET, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET, SheetSpec, operator_label,
                     workbook_layout)
from .export_parallel import MIN_ROWS, ForkedJob, WorkerFailed, fork_allowed, split
from .export_rows import SheetRows, export_sheet
from .photo_sheet import PhotoRow, photo_rows, sheet_data as photo_sheet_data
from .records import scope_where
from .xlsx_writer import SheetData, WriterColumn, resolve_backend, write_workbook

Progress = Callable[[str, float], None]
log = logging.getLogger(__name__)
BASE_ROWS_PER_SHEET = 1_000_000


@dataclass
class ExportResult:
    path: Path
    rows: dict[str, int]
    backend: str
    photos: int = 0            # rows of the photo sheet ("Ảnh")
    photos_missing: int = 0    # of them, live photos whose file was not there (or not as recorded)


def province_communes(session) -> dict[str, str]:
    return dict(session.execute(text(
        "SELECT code, name FROM admin_units WHERE level = 'commune' AND deleted = 0")).all())


def _writer_columns(spec: SheetSpec) -> list[WriterColumn]:
    cols = []
    for c in spec.columns:
        note = None
        if c.field is not None and c.field.help is not None:
            note = c.field.help(spec.lang)
        if c.field is not None and c.field.required:
            note = (note + " · " if note else "") + "Bắt buộc / required"
        if c.kind == "deleted":
            note = "Ghi x để xóa bản ghi; để trống ô khác không phải là xóa / x deletes the record"
        readonly = c.field is not None and c.field.readonly  # the GPS figures: grey, not typed
        cols.append(WriterColumn(c.header(spec.lang), c.width, c.number_format, () if readonly else c.choices,
                                 system=not c.editable or readonly, note=note))
    return cols


def export_workbook(db: Database, out: str | Path, *, commune: str | None = None,
                    progress: Progress | None = None, cancel: Cancel | None = None,
                    forms: Forms | None = None, backend: str | None = None,
                    parallel: bool | None = None, photos: list[PhotoRow] | None = None,
                    lang: str = "vi") -> ExportResult:
    """Write the department workbook. With the "direct" writer, a large export in a process
    without threads forks a worker that reads and renders the heaviest sheets while this process
    does the rest (`parallel=False` never forks); the file is the same byte for byte.

    The photo sheet lists `photos` when given (a sync package passes the rows it checked against
    their files), else the photos of the records in scope with whether each file is there.
    `lang` words the record sheets (names, headers, value labels, dropdowns): the department's
    workbook is Vietnamese; an English one imports the same (the import reads both)."""
    forms = forms or load_forms()
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InvalidInputError(f"{out}: tệp xuất phải có đuôi .xlsx / the output must be an .xlsx file")
    if not out.parent.exists():
        raise InvalidInputError(f"{out}: thư mục không tồn tại / the folder does not exist")
    with gc_paused():
        # The worker opens the database again by its file path: a SQLite file only.
        if (parallel is not False and resolve_backend(backend) == "direct" and fork_allowed()
                and getattr(db, "dialect", SQLITE) == SQLITE):
            try:
                return _export(db, out, commune, progress, cancel, forms, "direct", fork=True, photos=photos,
                               lang=lang)
            except _RetryAlone as why:
                log.warning("export worker not used: %s", why)
        return _export(db, out, commune, progress, cancel, forms, backend, fork=False, photos=photos, lang=lang)


# Export work per row in µs, measured on the Hà Tĩnh sample (read, fingerprint, format, deflate):
# what the worker and this process split. "_base": the parent's own share per exported row (the
# base and summary sheets).
COST_PER_ROW = {"sites": 50, "site_tenants": 24, "poles": 42, "pole_attachments": 36, "fibre_routes": 90,
                "zones": 90, "findings": 60, "_base": 5}


class _RetryAlone(Exception):
    """The worker failed or read another state of the database: export again in one process."""


def _mark(session) -> int:
    """The database's last logged change: two readers with the same mark read the same data."""
    return session.execute(text("SELECT coalesce(max(id), 0) FROM change_log")).scalar()


def _count(conn, spec: SheetSpec, commune: str | None) -> int:
    where, params = scope_where(spec.record, commune)
    return conn.execute(f"SELECT count(*) FROM {spec.record} t{where}", params).fetchone()[0]


def _export(db: Database, out: Path, commune: str | None, progress: Progress | None,
            cancel: Cancel | None, forms: Forms, backend: str | None, *, fork: bool,
            photos: list[PhotoRow] | None = None, lang: str = "vi") -> ExportResult:
    report = progress or (lambda _s, _f: None)
    job = None
    with db.session() as s:
        communes = province_communes(s)
        if commune is not None:
            code = commune.zfill(5) if commune.isdigit() else commune
            if code not in communes:
                raise InvalidInputError(f"không có xã/phường mã '{commune}' trong cơ sở dữ liệu này / "
                                        f"no commune '{commune}' in this database")
            commune = code
        meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
        meta_rows = _meta_rows(schema_version(s), meta, commune)
        layout = workbook_layout(forms, communes, lang)
        conn = raw(s)  # plain cursors: the hot path
        counts = {spec.record: _count(conn, spec, commune) for spec in layout}
        mine: set[str] = set()
        if fork and sum(counts.values()) >= MIN_ROWS:
            weights = {spec.record: counts[spec.record] * COST_PER_ROW.get(spec.record, 50) for spec in layout}
            mine = split(weights, parent_extra=0)
            job = ForkedJob(functools.partial(_worker, db.path, layout, mine, counts, forms, communes, commune,
                                              _mark(s), meta_rows))
        try:
            summary = _summary(conn, communes, commune)
            if photos is None:
                photos = photo_rows(conn, db.path, commune)
            data: dict[str, SheetRows] = {}
            for i, spec in enumerate(layout):
                checkpoint(cancel)
                report(spec.record, i / (len(layout) + 1))
                if spec.record not in mine:
                    data[spec.record] = export_sheet(conn, spec, forms, communes, commune,
                                                     received_versions(s, spec.record))
        except BaseException:
            if job is not None:
                job.cancel()
            raise

    def worker_part(name: str):
        try:
            parts = job.result()
        except WorkerFailed as exc:
            raise _RetryAlone(str(exc)) from None
        if parts is None:
            raise _RetryAlone("the database changed while the worker was starting")
        return parts[name]

    theirs = {n for spec in layout if spec.record in mine for n in _record_sheets(spec, counts[spec.record])}
    sheets = _sheets(layout, meta_rows, counts, summary, columns={r: d.columns for r, d in data.items()},
                     base={r: d.base_rows for r, d in data.items()},
                     parts={n: functools.partial(worker_part, n) for n in theirs}, photos=photos)
    report("writing", len(layout) / (len(layout) + 1))
    try:
        used = write_workbook(out, sheets, backend=backend)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    report("done", 1.0)
    return ExportResult(out, dict(counts), used, len(photos),
                        sum(1 for p in photos if not p.deleted and p.status != "present"))


def _worker(path: Path, layout: list[SheetSpec], mine: set[str], counts: dict[str, int], forms: Forms,
            communes: dict[str, str], commune: str | None, mark: int, meta_rows: list[tuple]):
    """In the forked process: read the records of `mine` and render their sheets (data and base)
    from the same plan the parent builds. Returns {sheet name: RenderedPart}, or None when this
    process sees another state of the database than the parent (then its counts would not hold)."""
    from .xlsx_backends import direct
    from .xlsx_backends._plan import build_plan

    with Database.open(path, readonly=True) as wdb, wdb.session() as s:
        if _mark(s) != mark:
            return None
        conn = raw(s)
        data = {spec.record: export_sheet(conn, spec, forms, communes, commune, received_versions(s, spec.record))
                for spec in layout if spec.record in mine}
    sheets = _sheets(layout, meta_rows, counts, [], columns={r: d.columns for r, d in data.items()},
                     base={r: d.base_rows for r, d in data.items()}, parts={})
    wanted = {n for spec in layout if spec.record in mine for n in _record_sheets(spec, counts[spec.record])}
    plan = build_plan(sheets)
    _styles, laid = direct.layouts(plan)
    return {sheet.name: direct.render_sheet(plan, laid, i) for i, sheet in enumerate(plan.sheets)
            if sheet.name in wanted}


def _meta_rows(schema_version: int, meta: dict, commune: str | None) -> list[tuple]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return [
        ("format_version", FORMAT_VERSION, "Phiên bản định dạng sổ / workbook format version"),
        ("schema_version", schema_version, "Phiên bản lược đồ CSDL / database schema version"),
        ("exported_at", now, "Thời điểm xuất (UTC) / export time (UTC)"),
        ("database_id", meta.get("database_id", ""), "Mã CSDL nguồn / source database id"),
        ("province_code", meta.get("province_code", ""), "Mã tỉnh / province code"),
        ("province_name", meta.get("province_name", ""), "Tỉnh / province"),
        ("scope", "commune" if commune else meta.get("scope", "province"), "Phạm vi / scope"),
        ("commune_code", commune or "", "Xã/phường (nếu xuất theo xã) / commune"),
        ("app_version", __version__, "Phiên bản Hạ tầng Desktop / app version"),
        ("sample_note", meta.get("sample_note", ""), "Ghi chú / note"),
    ]


def _base_names(record: str, count: int) -> list[str]:
    """A record type's base sheets: `_base_<record>`, continued on `_base_<record>_2`... past
    BASE_ROWS_PER_SHEET rows (Excel stops at 1,048,576; nationally poles come close)."""
    n = max(1, -(-count // BASE_ROWS_PER_SHEET))
    return [f"{BASE_SHEET}_{record}" + (f"_{k + 1}" if k else "") for k in range(n)]


def _record_sheets(spec: SheetSpec, count: int) -> list[str]:
    """The sheets that hold a record type: its data sheet and its base sheets (rendered together)."""
    return [spec.name(spec.lang), *_base_names(spec.record, count)]


def _sheets(layout: list[SheetSpec], meta_rows: list[tuple], counts: dict[str, int], summary: list[list],
            columns: dict[str, list], base: dict[str, list], parts: dict[str, Callable],
            photos: list[PhotoRow] = ()) -> list[SheetData]:
    """The workbook's sheets, the same in the parent and in a worker (so both assign the same
    styles and list ranges): the summary, a sheet per record type, the photos, metadata, and a
    hidden base sheet per record type (a sheet and its base are rendered by the same process)."""
    lang = layout[0].lang if layout else "vi"
    sheets = [SheetData(SUMMARY_SHEET[lang], _summary_columns(), summary, peek_formats=False)]
    for spec in layout:
        name = spec.name(spec.lang)
        cols = _writer_columns(spec)
        sheets.append(SheetData(name, cols, [], peek_formats=False, part=parts.get(name),
                                column_data=columns.get(spec.record) or [[] for _ in cols]))
    sheets.append(photo_sheet_data(list(photos), {spec.record: spec.form.label(spec.lang) for spec in layout}))
    sheets.append(SheetData(META_SHEET, [WriterColumn("key", 18, system=True), WriterColumn("value", 40, system=True),
                                         WriterColumn("mô tả / description", 50, system=True)],
                            meta_rows, title_style="plain"))
    for spec in layout:
        rows = base.get(spec.record, [])
        for k, name in enumerate(_base_names(spec.record, counts[spec.record])):
            sheets.append(SheetData(name, [WriterColumn(BASE_FIELDS, 90, system=True)],
                                    rows[k * BASE_ROWS_PER_SHEET:(k + 1) * BASE_ROWS_PER_SHEET], hidden=True,
                                    peek_formats=False, part=parts.get(name)))
    return sheets


SUMMARY_HEADER = ["Theo xã/phường", schema.form("sites").sheet.vi, "Trạm dùng chung",
                  "Tỷ lệ dùng chung (%)", schema.form("poles").sheet.vi, schema.form("fibre_routes").sheet.vi]


def _summary_columns() -> list[WriterColumn]:
    return [WriterColumn(h, 22 if i == 0 else 14, system=True) for i, h in enumerate(SUMMARY_HEADER)]


def _summary(conn, communes: dict[str, str], commune: str | None) -> list[list]:
    """What a department officer reads first: counts per commune, operator, technology, counted
    by the database over the live records in scope (a site is shared when two operators or more are
    on it). Sites to verify (reference points nobody has checked) are not counted: their sheet
    rows still carry them."""
    scope, params = ("", ()) if commune is None else (" AND s.commune_code = ?", (commune,))
    checked = " AND s.status <> 'to_verify'"

    def per_commune(sql: str, p=params) -> Counter:
        return Counter(dict(conn.execute(sql, p).fetchall()))

    sites = per_commune(f"SELECT s.commune_code, count(*) FROM sites s WHERE s.deleted = 0{checked}{scope} "
                        "GROUP BY s.commune_code")
    shared = per_commune(
        f"SELECT s.commune_code, count(*) FROM sites s WHERE s.deleted = 0{checked}{scope} AND (SELECT count(DISTINCT "
        "t.operator_code) FROM site_tenants t WHERE t.site_uuid = s.uuid AND t.deleted = 0) >= 2 "
        "GROUP BY s.commune_code")
    poles = per_commune(f"SELECT s.commune_code, count(*) FROM poles s WHERE s.deleted = 0{scope} "
                        "GROUP BY s.commune_code")
    routes = per_commune(f"SELECT s.commune_code, count(*) FROM fibre_routes s WHERE s.deleted = 0{scope} "
                         "GROUP BY s.commune_code")
    rows: list[list] = []
    for code in sorted(set(sites) | set(poles) | set(routes), key=lambda c: communes.get(c, c or "")):
        n = sites.get(code, 0)
        rows.append([communes.get(code, code or "(chưa rõ xã)"), n, shared.get(code, 0),
                     round(100 * shared.get(code, 0) / n, 1) if n else None,
                     poles.get(code, 0), routes.get(code, 0)])
    total, total_shared = sum(sites.values()), sum(shared.values())
    rows.append(["Tổng cộng", total, total_shared, round(100 * total_shared / total, 1) if total else None,
                 sum(poles.values()), sum(routes.values())])
    rows.append([None] * 6)
    rows.append(["Theo doanh nghiệp", "Trạm có mặt", "2G", "3G", "4G", "5G"])
    # Counted, not summed: a comparison is a number on SQLite but a boolean on PostgreSQL.
    techs = ", ".join(f"count(CASE WHEN t.{c} != 0 THEN 1 END)" for c in TECH_COLUMNS.values())
    by_op = conn.execute(
        f"SELECT t.operator_code, count(*), {techs} FROM site_tenants t JOIN sites s ON s.uuid = t.site_uuid "
        f"WHERE t.deleted = 0 AND s.deleted = 0{checked}{scope} GROUP BY t.operator_code", params).fetchall()
    for op, *acc in sorted(by_op, key=lambda r: -r[1]):
        rows.append([operator_label(op), *acc])
    return rows
