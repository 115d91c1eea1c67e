"""The workbook's photo sheet ("Ảnh"): every photo of the records a workbook carries.

One row per photo (tombstoned ones too, so a removal travels): the record it belongs to (type,
UUID, code), the file name, when and where it was taken, its sha256, and whether the file was
there when the workbook was written ("Có", "Thiếu tệp", "Tệp bị thay đổi"). The department
sees what exists even from the workbook alone; the files themselves travel in the sync package
(`package.py`), which records these rows, UUIDs kept, in the receiving database.

The sheet is read-only for people (grey columns). A plain workbook import leaves it alone; a
package import reads it (`read_photo_sheet`) and checks it against the package's files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..forms import Forms, Label
from ..storage.dialect import dialect_of, iso_seconds
from ..photos import MISSING, PHOTO_TABLES, PRESENT, CHANGED, photo_path
from ..text import fold
from .layout import excel_float
from .records import scope_where
from .problems import Problem
from .workbook_rows import UUID_RE
from .xlsx_writer import SheetData, WriterColumn

PHOTO_SHEET = Label("Ảnh", "Photos")
STATUS_LABELS = {PRESENT: "Có", MISSING: "Thiếu tệp", CHANGED: "Tệp bị thay đổi"}
DELETED_MARK = "x"

# The record's code shown beside its UUID (findings have none: their rule).
_OWNER_CODE = {"sites": "t.site_code", "poles": "t.code", "fibre_routes": "t.code", "zones": "t.code",
               "findings": "t.rule_id"}


@dataclass(frozen=True)
class PhotoColumn:
    key: str
    label: Label
    width: int = 14
    number_format: str | None = None

    def header(self, lang: str = "vi") -> str:
        return self.label(lang)


COLUMNS = (
    PhotoColumn("owner_type", Label("Loại bản ghi", "Record type"), 14),
    PhotoColumn("owner_uuid", Label("UUID bản ghi", "Record UUID"), 38),
    PhotoColumn("owner_code", Label("Mã bản ghi", "Record code"), 16),
    PhotoColumn("file_name", Label("Tệp ảnh", "Photo file"), 42),
    PhotoColumn("taken_at", Label("Chụp lúc", "Taken at"), 22),
    PhotoColumn("lat", Label("Vĩ độ ảnh", "Photo latitude"), 12, "0.0000000"),
    PhotoColumn("lon", Label("Kinh độ ảnh", "Photo longitude"), 12, "0.0000000"),
    PhotoColumn("sha256", Label("SHA-256", "SHA-256"), 66),
    PhotoColumn("status", Label("Tệp ảnh khi xuất", "File at export"), 15),
    PhotoColumn("caption", Label("Chú thích", "Caption"), 24),
    PhotoColumn("original_name", Label("Tên tệp gốc", "Original file name"), 22),
    PhotoColumn("width", Label("Rộng (px)", "Width (px)"), 10, "0"),
    PhotoColumn("height", Label("Cao (px)", "Height (px)"), 10, "0"),
    PhotoColumn("deleted", Label("Đã xóa", "Deleted"), 8),
    PhotoColumn("uuid", Label("UUID ảnh", "Photo UUID"), 38),
    PhotoColumn("version", Label("Phiên bản", "Version"), 10, "0"),
    PhotoColumn("updated_at", Label("Cập nhật lúc", "Updated at"), 17, "dd/mm/yyyy hh:mm"),
)
REQUIRED = ("owner_type", "owner_uuid", "file_name", "sha256", "uuid")
_NOT_PRINTED = ("uuid", "version", "updated_at")
SHEET_NOTE = ("Ảnh của các bản ghi trong sổ, chỉ để xem (không sửa). Tệp ảnh đi kèm gói .zip gửi Sở "
              "(Tệp > Xuất gói cho Sở…; hatang export-xlsx … --package) / the photos of the records in this "
              "workbook, for reading; the files travel in the .zip package")


@dataclass
class PhotoRow:
    """A photo as the sheet lists it (and as a package import records it)."""
    uuid: str
    version: int
    deleted: bool
    owner_table: str
    owner_uuid: str
    file_name: str
    sha256: str
    status: str = PRESENT            # PRESENT, MISSING or CHANGED where it was exported
    owner_code: str | None = None
    taken_at: str | None = None
    lat: float | None = None
    lon: float | None = None
    caption: str | None = None
    original_name: str | None = None
    width: int | None = None
    height: int | None = None
    updated_at: dt.datetime | None = None
    row: int | None = None           # the sheet row it was read from
    extra: dict = field(default_factory=dict)

    def describe(self, forms: Forms) -> str:
        """"Trạm BTS 'VT-0001' (uuid)": the record the photo belongs to, for messages."""
        label = forms[self.owner_table].label.vi if self.owner_table in forms.forms else self.owner_table
        code = f" '{self.owner_code}'" if self.owner_code else ""
        return f"{label}{code} ({self.owner_uuid})"


def owner_label(table: str, forms: Forms, lang: str = "vi") -> str:
    return forms[table].label(lang) if table in forms.forms else table


def photo_rows(conn, db_path: str | Path | None, commune: str | None = None) -> list[PhotoRow]:
    """The photos of the records in scope (the whole database, or one commune's records), in the
    order they were attached, with whether each file is in the photo folder (`status` PRESENT or
    MISSING; a package checks the sha256 too). `conn` is a `dialect.Raw`. A server database
    (`db_path` None) has no photo folder: its photos are the bytes in their rows (`photos.data`),
    present when there."""
    out: list[tuple[int, PhotoRow]] = []
    for table in PHOTO_TABLES:
        where, params = scope_where(table, commune)
        cond = where.replace(" WHERE ", " AND ", 1) if where else ""
        sql = (f"SELECT ph.id, ph.uuid, ph.version, ph.deleted, ph.owner_uuid, {_OWNER_CODE[table]}, ph.file_name, "
               "ph.sha256, ph.taken_at, ph.lat, ph.lon, ph.caption, ph.original_name, ph.width, ph.height, "
               f"{iso_seconds(dialect_of(conn), 'ph.updated_at')}, ph.data IS NOT NULL "
               f"FROM photos ph JOIN {table} t ON t.uuid = ph.owner_uuid "
               f"WHERE ph.owner_table = ?{cond}")
        for (pid, uuid, version, deleted, owner, code, name, sha, taken, lat, lon, caption, original, w, h,
             updated, has_data) in conn.execute(sql, (table, *params)).fetchall():
            present = bool(has_data) if db_path is None else photo_path(db_path, name).is_file()
            out.append((pid, PhotoRow(
                uuid=uuid, version=int(version), deleted=bool(deleted), owner_table=table, owner_uuid=owner,
                file_name=name, sha256=sha, status=PRESENT if present else MISSING,
                owner_code=None if code is None else str(code), taken_at=taken, lat=lat, lon=lon, caption=caption,
                original_name=original, width=w, height=h,
                updated_at=dt.datetime.fromisoformat(updated) if updated else None,
                extra={"id": pid, "has_data": bool(has_data)})))
    out.sort(key=lambda item: item[0])
    return [row for _, row in out]


def verify(conn, db_path: str | Path, rows: list[PhotoRow]):
    """Yield (row, bytes or None) for each live photo: its file's bytes (or the copy kept inside
    the database) when they match its sha256; None when missing or changed (`status` says which).
    One photo in memory at a time."""
    for row in rows:
        if row.deleted:
            yield row, None
            continue
        data = None
        if db_path is not None:
            try:
                data = photo_path(db_path, row.file_name).read_bytes()
            except OSError:
                data = None
        if data is None and row.extra.get("has_data"):
            data = conn.execute("SELECT data FROM photos WHERE uuid = ?", (row.uuid,)).fetchone()[0]
        if data is None:
            row.status = MISSING
            yield row, None
        elif hashlib.sha256(data).hexdigest() != row.sha256:
            row.status = CHANGED
            yield row, None
        else:
            row.status = PRESENT
            yield row, data


def sheet_data(rows: list[PhotoRow], labels: dict[str, str]) -> SheetData:
    """The "Ảnh" sheet (every column grey: for reading); `labels`: record type -> its name."""
    # The photo's own UUID, version and time come last and are for the import, not for paper.
    cols = [WriterColumn(c.header("vi"), c.width, c.number_format, system=True,
                         note=SHEET_NOTE if i == 0 else None, printed=c.key not in _NOT_PRINTED)
            for i, c in enumerate(COLUMNS)]
    cells = [[labels.get(r.owner_table, r.owner_table), r.owner_uuid, r.owner_code, r.file_name, r.taken_at,
              None if r.lat is None else excel_float(r.lat), None if r.lon is None else excel_float(r.lon),
              r.sha256, STATUS_LABELS.get(r.status, r.status), r.caption, r.original_name, r.width, r.height,
              DELETED_MARK if r.deleted else None, r.uuid, r.version, r.updated_at] for r in rows]
    return SheetData(PHOTO_SHEET.vi, cols, cells, peek_formats=False)


def is_photo_sheet(name: str) -> bool:
    return fold(name) in (fold(PHOTO_SHEET.vi), fold(PHOTO_SHEET.en))


# -- reading it back ---------------------------------------------------------------------------

def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _number(value, integer: bool):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError
    number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError
    if integer:
        if not number.is_integer():
            raise ValueError
        return int(number)
    return number


def parse_photo_sheet(cells: list[list], forms: Forms, sheet: str = PHOTO_SHEET.vi,
                      ) -> tuple[list[PhotoRow], list[Problem]]:
    """The photo rows of a package's workbook, and a Problem (sheet, row, column) for every cell
    that cannot be what the sheet was written with."""
    problems: list[Problem] = []
    if not cells:
        return [], [Problem(sheet, None, None, None, "trang ảnh trống / the photo sheet is empty")]
    wanted = {}
    for c in COLUMNS:
        for text in (c.label.vi, c.label.en):
            wanted.setdefault(fold(text), c)
    at: dict[str, int] = {}
    for i, h in enumerate(cells[0]):
        c = wanted.get(fold(str(h or "")))
        if c is not None and c.key not in at:
            at[c.key] = i
    for key in REQUIRED:
        if key not in at:
            column = next(c for c in COLUMNS if c.key == key).header("vi")
            problems.append(Problem(sheet, 1, column, None, "thiếu cột bắt buộc / a required column is missing"))
    if problems:
        return [], problems
    types = {}
    for table in PHOTO_TABLES:
        types[fold(table)] = table
        if table in forms.forms:
            types[fold(forms[table].label.vi)] = table
            types[fold(forms[table].label.en)] = table
    headers = {c.key: c.header("vi") for c in COLUMNS}
    statuses = {fold(v): k for k, v in STATUS_LABELS.items()}
    rows: list[PhotoRow] = []
    for r, raw in enumerate(cells[1:], start=2):
        get = (lambda key, raw=raw: raw[at[key]] if key in at and at[key] < len(raw) else None)
        if all(v in (None, "") for v in raw):
            continue

        def bad(key: str, message: str, value=None, r=r) -> None:
            problems.append(Problem(sheet, r, headers[key], value, message))

        before = len(problems)
        owner_type = _text(get("owner_type"))
        table = types.get(fold(owner_type or ""))
        if table is None:
            kinds = ", ".join(forms[t].label.vi for t in PHOTO_TABLES)
            bad("owner_type", f"không phải loại bản ghi có ảnh ({kinds}) / not a record type that has photos",
                owner_type)
        values = {}
        for key in ("owner_uuid", "uuid"):
            v = (_text(get(key)) or "").lower()
            if not UUID_RE.match(v):
                bad(key, "không phải UUID / not a UUID", get(key))
            values[key] = v
        name = _text(get("file_name")) or ""
        if not name or Path(name).name != name or name in (".", "..") or "\\" in name:
            bad("file_name", "tên tệp ảnh không hợp lệ (không được có thư mục) / not a plain file name", get("file_name"))
        sha = (_text(get("sha256")) or "").lower()
        if len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
            bad("sha256", "không phải mã SHA-256 (64 ký tự hex) / not a sha256", get("sha256"))
        numbers = {}
        for key, integer in (("lat", False), ("lon", False), ("width", True), ("height", True), ("version", True)):
            try:
                numbers[key] = _number(get(key), integer)
            except (TypeError, ValueError):
                bad(key, "không phải số / not a number", get(key))
                numbers[key] = None
        if numbers["version"] is not None and numbers["version"] < 1:
            bad("version", "phiên bản phải từ 1 / the version starts at 1", get("version"))
        for key in ("width", "height"):
            if numbers[key] is not None and numbers[key] < 1:
                bad(key, "phải lớn hơn 0 / must be positive", get(key))
        lat, lon = numbers["lat"], numbers["lon"]
        if (lat is None) != (lon is None) or (lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)):
            bad("lat", "vị trí ảnh không hợp lệ / not a valid position", get("lat"))
        status_text = _text(get("status"))
        status = PRESENT if status_text is None else statuses.get(fold(status_text))
        if status is None:
            bad("status", f"cần một trong {', '.join(STATUS_LABELS.values())} / unknown file status", status_text)
        deleted_text = _text(get("deleted"))
        if deleted_text not in (None, DELETED_MARK, DELETED_MARK.upper()):
            bad("deleted", "chỉ ghi x hoặc để trống / x or empty", deleted_text)
        if len(problems) > before:
            continue
        updated = get("updated_at")
        rows.append(PhotoRow(
            uuid=values["uuid"], version=numbers["version"] or 1, deleted=deleted_text is not None,
            owner_table=table, owner_uuid=values["owner_uuid"], file_name=name, sha256=sha, status=status,
            owner_code=_text(get("owner_code")), taken_at=_text(get("taken_at")), lat=lat, lon=lon,
            caption=_text(get("caption")), original_name=_text(get("original_name")), width=numbers["width"],
            height=numbers["height"], updated_at=updated if isinstance(updated, dt.datetime) else None, row=r))
    seen: dict[str, PhotoRow] = {}
    for p in rows:
        if p.uuid in seen:
            problems.append(Problem(sheet, p.row, headers["uuid"], p.uuid,
                                    f"UUID ảnh trùng với dòng {seen[p.uuid].row} / duplicate photo UUID"))
        seen[p.uuid] = p
    return rows, problems


__all__ = ["PHOTO_SHEET", "COLUMNS", "STATUS_LABELS", "PhotoRow", "photo_rows", "verify", "sheet_data",
           "parse_photo_sheet", "is_photo_sheet", "owner_label"]
