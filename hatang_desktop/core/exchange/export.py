"""Export a database (or one commune of it) to the department workbook.

The sheets: a one-page summary and the counts per commune (`summary_sheet`), a sheet per record
type (`export_rows`), the photos, and hidden: `_metadata` and a `_base_<record>` sheet per record
type with each record's version and fingerprints. Every sheet prints landscape, one page wide,
its header on every page, the title and scope in the page header, "Trang x/y" in the footer.
Every process that renders sheets builds the same list (`_sheets`), so a forked worker can render
some of them (`export_parallel`) with the same styles and list ranges as this process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from ... import __version__
from ..cancel import Cancel, checkpoint
from ..errors import InvalidInputError
from ..perf import gc_paused
from ..forms import Forms, load_forms
from ..storage.database import Database, default_user
from ..storage.dialect import SQLITE, raw, schema_version
from .history import received_versions
from .layout import BASE_FIELDS, BASE_SHEET, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET, SheetSpec, workbook_layout
from .export_parallel import MIN_ROWS, ForkedJob, WorkerFailed, fork_allowed, split
from .export_rows import SheetRows, export_sheet
from .photo_sheet import PhotoRow, photo_rows, sheet_data as photo_sheet_data
from .records import scope_where
from . import summary_sheet
from .summary_sheet import Summary
from .xlsx_writer import PageSetup, SheetData, WriterColumn, resolve_backend, write_workbook

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
        # The GPS fix details and the system columns come last and are for the import, not for
        # paper: left off the print area, the rest prints larger.
        cols.append(WriterColumn(c.header(spec.lang), c.width, c.number_format, () if readonly else c.choices,
                                 system=not c.editable or readonly, note=note,
                                 printed=c.kind in ("field", "parent_code") and not readonly))
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
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        user = getattr(db, "user", None) or default_user()
        meta_rows = _meta_rows(schema_version(s), meta, commune, now, user)
        local = now.astimezone().replace(tzinfo=None)
        scope = summary_sheet.scope_text(meta, communes, commune)
        page = PageSetup(summary_sheet.WORKBOOK_TITLE(lang), scope, summary_sheet.export_note(local, user, lang))
        summary = Summary(summary_sheet.preamble(scope, local, user, lang))
        layout = workbook_layout(forms, communes, lang)
        conn = raw(s)  # plain cursors: the hot path
        counts = {spec.record: _count(conn, spec, commune) for spec in layout}
        mine: set[str] = set()
        if fork and sum(counts.values()) >= MIN_ROWS:
            weights = {spec.record: counts[spec.record] * COST_PER_ROW.get(spec.record, 50) for spec in layout}
            mine = split(weights, parent_extra=0)
            job = ForkedJob(functools.partial(_worker, db.path, layout, mine, counts, forms, communes, commune,
                                              _mark(s), meta_rows, summary, page))
        try:
            summary.rows, summary.communes = summary_sheet.count(conn, communes, commune)
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
                     parts={n: functools.partial(worker_part, n) for n in theirs}, photos=photos, page=page)
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
            communes: dict[str, str], commune: str | None, mark: int, meta_rows: list[tuple], summary: Summary,
            page: PageSetup):
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
    sheets = _sheets(layout, meta_rows, counts, Summary(summary.preamble), columns={r: d.columns for r, d in data.items()},
                     base={r: d.base_rows for r, d in data.items()}, parts={}, page=page)
    wanted = {n for spec in layout if spec.record in mine for n in _record_sheets(spec, counts[spec.record])}
    plan = build_plan(sheets)
    _styles, laid = direct.layouts(plan)
    return {sheet.name: direct.render_sheet(plan, laid, i) for i, sheet in enumerate(plan.sheets)
            if sheet.name in wanted}


def _meta_rows(schema_version: int, meta: dict, commune: str | None, now: dt.datetime, user: str) -> list[tuple]:
    return [
        ("format_version", FORMAT_VERSION, "Phiên bản định dạng sổ / workbook format version"),
        ("schema_version", schema_version, "Phiên bản lược đồ CSDL / database schema version"),
        ("exported_at", now.replace(tzinfo=None), "Thời điểm xuất (UTC) / export time (UTC)"),
        ("exported_by", user, "Người xuất / exported by"),
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


def _sheets(layout: list[SheetSpec], meta_rows: list[tuple], counts: dict[str, int], summary: Summary,
            columns: dict[str, list], base: dict[str, list], parts: dict[str, Callable],
            photos: list[PhotoRow] = (), page: PageSetup | None = None) -> list[SheetData]:
    """The workbook's sheets, the same in the parent and in a worker (so both assign the same
    styles and list ranges): the summary and the counts per commune, a sheet per record type, the
    photos, and hidden: the metadata and a base sheet per record type (a sheet and its base are
    rendered by the same process). Every sheet prints with `page`; the summary on one page."""
    lang = layout[0].lang if layout else "vi"
    sheets = [SheetData(SUMMARY_SHEET[lang], summary_sheet.columns(summary_sheet.SUMMARY_HEADER), summary.rows,
                        peek_formats=False, preamble=summary.preamble, freeze_header=False, autofilter=False,
                        page=page and dataclasses.replace(page, one_page=True)),
              SheetData(summary_sheet.COMMUNE_SHEET(lang), summary_sheet.columns(summary_sheet.COMMUNE_HEADER),
                        summary.communes, peek_formats=False)]
    for spec in layout:
        name = spec.name(spec.lang)
        cols = _writer_columns(spec)
        sheets.append(SheetData(name, cols, [], peek_formats=False, part=parts.get(name),
                                column_data=columns.get(spec.record) or [[] for _ in cols]))
    sheets.append(photo_sheet_data(list(photos), {spec.record: spec.form.label(spec.lang) for spec in layout}))
    # Hidden: the import reads it, nobody should edit it (calamine lists hidden sheets too).
    sheets.append(SheetData(META_SHEET, [WriterColumn("key", 18, system=True), WriterColumn("value", 40, system=True),
                                         WriterColumn("mô tả / description", 50, system=True)],
                            meta_rows, title_style="plain", hidden=True))
    for spec in layout:
        rows = base.get(spec.record, [])
        for k, name in enumerate(_base_names(spec.record, counts[spec.record])):
            # As a column: the writer formats it without turning rows back into columns.
            cells = rows[k * BASE_ROWS_PER_SHEET:(k + 1) * BASE_ROWS_PER_SHEET]
            sheets.append(SheetData(name, [WriterColumn(BASE_FIELDS, 90, system=True)], [], hidden=True,
                                    peek_formats=False, part=parts.get(name), column_data=[cells]))
    for sheet in sheets[1:]:
        sheet.page = page
    return sheets
