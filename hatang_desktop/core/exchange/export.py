"""Export a database (or one commune of it) to the department workbook."""

from __future__ import annotations

import datetime as dt
from collections import Counter
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from ... import __version__
from ..errors import InvalidInputError
from ..forms import Forms, load_forms
from ..storage.database import Database
from .history import received_versions
from .layout import (BASE_FIELDS, BASE_SHEET, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET, SheetSpec, operator_label,
                     workbook_layout)
from .export_parallel import MIN_ROWS, ForkedJob, WorkerFailed, fork_allowed, split
from .export_rows import SheetRows, export_sheet
from .records import _SCOPE
from .xlsx_writer import SheetData, WriterColumn, resolve_backend, write_workbook

Progress = Callable[[str, float], None]
log = logging.getLogger(__name__)
BASE_ROWS_PER_SHEET = 1_000_000


class Cancelled(Exception):
    pass


@dataclass
class ExportResult:
    path: Path
    rows: dict[str, int]
    backend: str


def province_communes(session) -> dict[str, str]:
    return dict(session.execute(text(
        "SELECT code, name FROM admin_units WHERE level = 'commune' AND deleted = 0")).all())


def _writer_columns(spec: SheetSpec) -> list[WriterColumn]:
    cols = []
    for c in spec.columns:
        note = None
        if c.field is not None and c.field.help is not None:
            note = c.field.help.vi
        if c.field is not None and c.field.required:
            note = (note + " · " if note else "") + "Bắt buộc / required"
        if c.kind == "deleted":
            note = "Ghi x để xóa bản ghi; để trống ô khác không phải là xóa / x deletes the record"
        cols.append(WriterColumn(c.header("vi"), c.width, c.number_format, c.choices,
                                 system=not c.editable, note=note))
    return cols


def export_workbook(db: Database, out: str | Path, *, commune: str | None = None,
                    progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
                    forms: Forms | None = None, backend: str | None = None,
                    parallel: bool | None = None) -> ExportResult:
    """Write the department workbook. With the "direct" writer, a large export in a process
    without threads forks a worker that reads and renders the heaviest sheets while this process
    does the rest (`parallel=False` never forks); the file is the same byte for byte."""
    forms = forms or load_forms()
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InvalidInputError(f"{out}: tệp xuất phải có đuôi .xlsx / the output must be an .xlsx file")
    if not out.parent.exists():
        raise InvalidInputError(f"{out}: thư mục không tồn tại / the folder does not exist")
    if parallel is not False and resolve_backend(backend) == "direct" and fork_allowed():
        try:
            return _export(db, out, commune, progress, cancelled, forms, "direct", fork=True)
        except _RetryAlone as why:
            log.warning("export worker not used: %s", why)
    return _export(db, out, commune, progress, cancelled, forms, backend, fork=False)


class _RetryAlone(Exception):
    """The worker failed or read another state of the database: export again in one process."""


def _mark(session) -> int:
    """The database's last logged change: two readers with the same mark read the same data."""
    return session.execute(text("SELECT coalesce(max(id), 0) FROM change_log")).scalar()


def _count(conn, spec: SheetSpec, commune: str | None) -> int:
    where, params = "", ()
    if commune:
        where = " WHERE " + _SCOPE[spec.record].replace(":commune", "?")
        params = (commune,)
    return conn.execute(f"SELECT count(*) FROM {spec.record} t{where}", params).fetchone()[0]


def _export(db: Database, out: Path, commune: str | None, progress: Progress | None,
            cancelled: Callable[[], bool] | None, forms: Forms, backend: str | None, *, fork: bool) -> ExportResult:
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
        layout = workbook_layout(forms, communes)
        conn = s.connection().connection.driver_connection  # plain cursors: the hot path
        counts = {spec.record: _count(conn, spec, commune) for spec in layout}
        mine: set[str] = set()
        if fork and sum(counts.values()) >= MIN_ROWS:
            weights = {spec.record: counts[spec.record] * (len(spec.columns) + 4) for spec in layout}
            mine = split(weights, parent_extra=3 * sum(counts.values()))
            job = ForkedJob(functools.partial(_worker, db.path, [sp for sp in layout if sp.record in mine],
                                              forms, communes, commune, _mark(s)))
        try:
            data: dict[str, SheetRows] = {}
            for i, spec in enumerate(layout):
                if cancelled and cancelled():
                    raise Cancelled()
                report(spec.record, i / (len(layout) + 1))
                if spec.record not in mine:
                    data[spec.record] = export_sheet(conn, spec, forms, communes, commune,
                                                     received_versions(s, spec.record))
        except BaseException:
            if job is not None:
                job.cancel()
            raise

    def worker_result():
        try:
            result = job.result()
        except WorkerFailed as exc:
            raise _RetryAlone(str(exc)) from None
        if result is None:
            raise _RetryAlone("the database changed while the worker was starting")
        return result

    def all_data() -> dict[str, SheetRows]:
        if job is not None:
            data.update(worker_result()[1])
        return data

    meta_rows = _meta_rows(db, meta, commune)
    sheets = _sheets(layout, communes, meta_rows, counts,
                     rows={r: d.rows for r, d in data.items()},
                     parts={r: functools.partial(lambda r: worker_result()[0][r], r) for r in mine},
                     all_data=all_data)
    report("writing", len(layout) / (len(layout) + 1))
    try:
        used = write_workbook(out, sheets, backend=backend)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    report("done", 1.0)
    return ExportResult(out, {r: d for r, d in counts.items()}, used)


def _worker(path: Path, specs: list[SheetSpec], forms: Forms, communes: dict[str, str],
            commune: str | None, mark: int):
    """In the forked process: read and render `specs`' sheets from the same plan the parent
    builds. Returns ({record: RenderedPart}, {record: SheetRows without cells}), or None when
    this process sees another state of the database than the parent."""
    from .xlsx_backends import direct
    from .xlsx_backends._plan import build_plan

    with Database.open(path, readonly=True) as wdb, wdb.session() as s:
        if _mark(s) != mark:
            return None
        conn = s.connection().connection.driver_connection
        data = {spec.record: export_sheet(conn, spec, forms, communes, commune, received_versions(s, spec.record))
                for spec in specs}
        layout = workbook_layout(forms, communes)
        counts = {spec.record: _count(conn, spec, commune) for spec in layout}
    sheets = _sheets(layout, communes, [], counts, rows={r: d.rows for r, d in data.items()}, parts={},
                     all_data=lambda: {})
    plan = build_plan(sheets)
    _styles, laid = direct.layouts(plan)
    index = {spec.record: 1 + k for k, spec in enumerate(layout)}  # the summary is sheet 0
    parts = {r: direct.render_sheet(plan, laid, index[r]) for r in data}
    light = {r: SheetRows([], d.base_rows, {k: v for k, v in d.values.items() if k in SUMMARY_KEYS},
                          d.deleted, d.uuids) for r, d in data.items()}
    return parts, light


def _meta_rows(db: Database, meta: dict, commune: str | None) -> list[tuple]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return [
        ("format_version", FORMAT_VERSION, "Phiên bản định dạng sổ / workbook format version"),
        ("schema_version", db.schema_version, "Phiên bản lược đồ CSDL / database schema version"),
        ("exported_at", now, "Thời điểm xuất (UTC) / export time (UTC)"),
        ("database_id", meta.get("database_id", ""), "Mã CSDL nguồn / source database id"),
        ("province_code", meta.get("province_code", ""), "Mã tỉnh / province code"),
        ("province_name", meta.get("province_name", ""), "Tỉnh / province"),
        ("scope", "commune" if commune else meta.get("scope", "province"), "Phạm vi / scope"),
        ("commune_code", commune or "", "Xã/phường (nếu xuất theo xã) / commune"),
        ("app_version", __version__, "Phiên bản Hạ tầng Desktop / app version"),
        ("sample_note", meta.get("sample_note", ""), "Ghi chú / note"),
    ]


def _later(make: Callable[[], list]):
    """Rows computed when the writer first asks for them (after the sheets they summarise)."""
    yield from make()


def _sheets(layout: list[SheetSpec], communes: dict[str, str], meta_rows: list[tuple],
            counts: dict[str, int], *, rows: dict[str, list], parts: dict[str, Callable],
            all_data: Callable[[], dict[str, SheetRows]]) -> list[SheetData]:
    """The workbook's sheets, the same in the parent and in a worker (so both assign the same
    styles and list ranges): the summary, a sheet per record type, metadata, the base."""
    summary = _summary_columns()
    sheets = [SheetData(SUMMARY_SHEET["vi"], summary, _later(lambda: _summary(all_data(), communes)),
                        deferred=True)]
    for spec in layout:
        sheets.append(SheetData(spec.name("vi"), _writer_columns(spec), rows.get(spec.record, []),
                                peek_formats=False, part=parts.get(spec.record)))
    sheets.append(SheetData(META_SHEET, [WriterColumn("key", 18, system=True), WriterColumn("value", 40, system=True),
                                         WriterColumn("mô tả / description", 50, system=True)],
                            meta_rows, title_style="plain"))

    def base_rows() -> list[tuple]:
        data = all_data()
        return [r for spec in layout for r in data[spec.record].base_rows]

    # One base row per record: a national export outgrows one sheet (Excel stops at 1,048,576
    # rows), so the base continues on _base_2, _base_3...
    total = sum(counts.values())
    for k in range(0, max(1, total), BASE_ROWS_PER_SHEET):
        name = BASE_SHEET if k == 0 else f"{BASE_SHEET}_{k // BASE_ROWS_PER_SHEET + 1}"
        sheets.append(SheetData(name, [WriterColumn(BASE_FIELDS, 90, system=True)],
                                _later(functools.partial(lambda k: base_rows()[k:k + BASE_ROWS_PER_SHEET], k)),
                                hidden=True, deferred=True))
    return sheets


SUMMARY_KEYS = ("commune_code", "site_uuid", "operator_code", "technologies")
SUMMARY_HEADER = ["Theo xã/phường", "Trạm BTS", "Trạm dùng chung", "Tỷ lệ dùng chung (%)", "Cột treo cáp",
                  "Tuyến cáp quang"]


def _summary_columns() -> list[WriterColumn]:
    return [WriterColumn(h, 22 if i == 0 else 14, system=True) for i, h in enumerate(SUMMARY_HEADER)]


def _summary(data: dict[str, SheetRows], communes: dict[str, str]) -> list[list]:
    """What a department officer reads first: counts per commune, operator, technology."""
    def live(record: str, *keys: str) -> list[tuple]:
        d = data[record]
        return [row for row, gone in zip(zip(*(d.values[k] for k in keys)), d.deleted) if not gone]

    d = data["sites"]
    sites = {u: c for u, c, gone in zip(d.uuids, d.values["commune_code"], d.deleted) if not gone}
    tenants = [t for t in live("site_tenants", "site_uuid", "operator_code", "technologies") if t[0] in sites]
    ops_by_site: dict[str, set] = {}
    for site, op, _techs in tenants:
        ops_by_site.setdefault(site, set()).add(op)
    shared = {u for u, ops in ops_by_site.items() if len(ops) >= 2}
    rows: list[list] = [SUMMARY_HEADER]
    per_commune = Counter(sites.values())
    shared_commune = Counter(sites[u] for u in shared)
    poles = Counter(c for (c,) in live("poles", "commune_code"))
    routes = Counter(c for (c,) in live("fibre_routes", "commune_code"))
    for code in sorted(set(per_commune) | set(poles) | set(routes), key=lambda c: communes.get(c, c or "")):
        n = per_commune.get(code, 0)
        rows.append([communes.get(code, code or "(chưa rõ xã)"), n, shared_commune.get(code, 0),
                     round(100 * shared_commune.get(code, 0) / n, 1) if n else None,
                     poles.get(code, 0), routes.get(code, 0)])
    total = len(sites)
    rows.append(["Tổng cộng", total, len(shared), round(100 * len(shared) / total, 1) if total else None,
                 sum(poles.values()), sum(routes.values())])
    rows.append([None] * 6)
    rows.append(["Theo doanh nghiệp", "Trạm có mặt", "2G", "3G", "4G", "5G"])
    by_op: dict[str, list[int]] = {}
    for _site, op, techs in tenants:
        acc = by_op.setdefault(op, [0, 0, 0, 0, 0])
        acc[0] += 1
        for k, tech in enumerate(("2G", "3G", "4G", "5G"), start=1):
            acc[k] += tech in (techs or ())
    for op, acc in sorted(by_op.items(), key=lambda kv: -kv[1][0]):
        rows.append([operator_label(op), *acc])
    return rows[1:]
