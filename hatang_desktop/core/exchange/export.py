"""Export a database (or one commune of it) to the department workbook."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from ... import __version__
from ..errors import InvalidInputError
from ..forms import Forms, load_forms
from ..storage.database import Database
from .history import received_versions
from .layout import (BASE_SHEET, FORMAT_VERSION, META_SHEET, SUMMARY_SHEET, SheetSpec, operator_label,
                     workbook_layout)
from .export_rows import SheetRows, export_sheet
from .xlsx_writer import SheetData, WriterColumn, write_workbook

Progress = Callable[[str, float], None]
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
                    forms: Forms | None = None, backend: str | None = None) -> ExportResult:
    report = progress or (lambda _s, _f: None)
    forms = forms or load_forms()
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InvalidInputError(f"{out}: tệp xuất phải có đuôi .xlsx / the output must be an .xlsx file")
    if not out.parent.exists():
        raise InvalidInputError(f"{out}: thư mục không tồn tại / the folder does not exist")
    meta = {}
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
        sheets, base_rows, counts = [], [], {}
        summary_data = {}
        conn = s.connection().connection.driver_connection  # plain cursors: the hot path
        for i, spec in enumerate(layout):
            if cancelled and cancelled():
                raise Cancelled()
            report(spec.record, i / (len(layout) + 1))
            data = export_sheet(conn, spec, forms, communes, commune, received_versions(s, spec.record))
            base_rows += data.base_rows
            counts[spec.record] = len(data.rows)
            summary_data[spec.record] = data
            sheets.append(SheetData(spec.name("vi"), _writer_columns(spec), data.rows))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    meta_rows = [
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
    sheets.insert(0, _summary(summary_data, communes))
    sheets.append(SheetData(META_SHEET, [WriterColumn("key", 18, system=True), WriterColumn("value", 40, system=True),
                                         WriterColumn("mô tả / description", 50, system=True)],
                            meta_rows, title_style="plain"))
    # One base row per record: a national export outgrows one sheet (Excel stops at 1,048,576
    # rows), so the base continues on _base_2, _base_3...
    for k in range(0, max(1, len(base_rows)), BASE_ROWS_PER_SHEET):
        name = BASE_SHEET if k == 0 else f"{BASE_SHEET}_{k // BASE_ROWS_PER_SHEET + 1}"
        sheets.append(SheetData(name, [WriterColumn(h, 16, system=True) for h in
                                       ("record", "uuid", "version", "received_version", "state_hash",
                                        "row_hash")],
                                base_rows[k:k + BASE_ROWS_PER_SHEET], hidden=True))
    report("writing", len(layout) / (len(layout) + 1))
    used = write_workbook(out, sheets, backend=backend)
    report("done", 1.0)
    return ExportResult(out, counts, used)


def _summary(data: dict[str, SheetRows], communes: dict[str, str]) -> SheetData:
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
    rows: list[list] = [["Theo xã/phường", "Trạm BTS", "Trạm dùng chung", "Tỷ lệ dùng chung (%)",
                         "Cột treo cáp", "Tuyến cáp quang"]]
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
    header, *body = rows
    return SheetData(SUMMARY_SHEET["vi"], [WriterColumn(h, 22 if i == 0 else 14, system=True)
                                           for i, h in enumerate(header)], body)
