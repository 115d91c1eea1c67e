"""The sync package for the department: one .zip with the workbook, its photos and a manifest.

What is in it
    `<name>.xlsx`            the department workbook (`export.export_workbook`), whose "Ảnh"
                             sheet lists every photo of its records (`photo_sheet`);
    `anh/<photo file>`       each live photo whose file matches its recorded sha256, stored as is
                             (JPEG does not deflate);
    `hatang-package.json`    the manifest: format and version, export time, source database and
                             scope, the workbook's name, size and sha256, and per photo its UUID,
                             path in the zip, sha256, size and the record it belongs to; the
                             photos left out (file missing or changed where exported) under
                             `not_included`.
The .zip is written whole or not at all (core/atomic.py): an existing file of that name stays as
it was on any failure.

Importing one (`import_package`)
    Every hash is checked first: the workbook against the manifest, every photo file against the
    manifest and the "Ảnh" sheet, every photo the sheet says was there against the package. A
    photo missing or altered, or a row that cannot be read, is a listed problem (sheet, row,
    file name, the record it belongs to) and nothing is written. Then the workbook goes through
    the normal import (validation, backup, three-way merge, one transaction); in the same
    transaction, under the same write lock, the photo rows are recorded with the UUIDs of the
    sheet (new ones added, a newer version's tombstone or caption applied) and their files are
    copied into the receiving database's photo folder (`photos.photo_dir`: `<db stem>_anh/`,
    same names). A photo whose file was missing where it was exported is recorded too: the
    department then sees it as "thiếu ảnh". Importing the same package twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from ... import __version__
from ..atomic import atomic_output
from ..errors import InvalidInputError
from ..forms import Forms, load_forms
from ..photos import PRESENT, file_sha256, photo_dir, photo_path
from ..storage.database import Database
from .export import ExportResult, export_workbook
from ..cancel import Cancel, checkpoint
from ..storage.dialect import raw
from .importer import InvalidWorkbookError, import_workbook
from .merge import ImportResult
from .photo_sheet import (COLUMNS, PHOTO_SHEET, STATUS_LABELS, PhotoRow, is_photo_sheet, parse_photo_sheet,
                          photo_rows, verify)
from .problems import Problem
from .xlsx_reader import read_sheets, sheet_names

Progress = Callable[[str, float], None]
MANIFEST = "hatang-package.json"
PACKAGE_FORMAT = "hatang-sync-package"
PACKAGE_VERSION = 1
PHOTO_FOLDER = "anh"
MAX_MANIFEST_BYTES = 50_000_000
MAX_PHOTO_BYTES = 200_000_000      # one photo file (ours are at most 2048 px JPEGs, well under 5 MB)
MAX_WORKBOOK_BYTES = 2_000_000_000
MAX_RATIO = 200                    # uncompressed/compressed for entries over 10 MB: a zip bomb
_FILE_COLUMN = next(c.header("vi") for c in COLUMNS if c.key == "file_name")


class InvalidPackageError(InvalidWorkbookError):
    """A package refused, with every problem found (nothing was written)."""

    def __init__(self, path: Path, problems: list[Problem]):
        super().__init__(path, problems, what=("gói", "the package"))


@dataclass
class PackageResult:
    path: Path
    workbook: ExportResult
    photos: int                       # photo files in the package
    photo_bytes: int
    not_included: list[dict] = field(default_factory=list)   # live photos left out, and why
    size: int = 0

    @property
    def rows(self) -> dict[str, int]:
        return self.workbook.rows

    def as_json(self) -> dict:
        return {"path": str(self.path), "rows": self.workbook.rows, "writer": self.workbook.backend,
                "package": True, "photos": self.photos, "photo_rows": self.workbook.photos,
                "photo_bytes": self.photo_bytes, "not_included": self.not_included, "size": self.size}


def _sha256_file(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _stamp() -> tuple[int, int, int, int, int, int]:
    now = dt.datetime.now()
    return (max(1980, now.year), now.month, now.day, now.hour, now.minute, now.second - now.second % 2)


def _add(z: zipfile.ZipFile, name: str, data: bytes, compress: int = zipfile.ZIP_STORED) -> None:
    info = zipfile.ZipInfo(name, _stamp())
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    z.writestr(info, data)


# -- writing ---------------------------------------------------------------------------------

def export_package(db: Database, out: str | Path, *, commune: str | None = None, progress: Progress | None = None,
                   cancel: Cancel | None = None, forms: Forms | None = None,
                   backend: str | None = None, parallel: bool | None = None) -> PackageResult:
    """Write the sync package `out` (.zip): the workbook, the photos of its records whose files
    match their sha256, and the manifest. Whole or not at all."""
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InvalidInputError(f"{out}: gói gửi Sở phải có đuôi .zip / the package must be a .zip file")
    if not out.parent.exists():
        raise InvalidInputError(f"{out}: thư mục không tồn tại / the folder does not exist")
    report = progress or (lambda _s, _f: None)
    if commune is not None and commune.isdigit():
        commune = commune.zfill(5)
    with db.session() as s:
        conn = raw(s)
        rows = photo_rows(conn, db.path, commune)
        meta = dict(s.execute(text("SELECT key, value FROM meta")).all())
    photos, not_included, written, photo_bytes = [], [], set(), 0
    with atomic_output(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        with db.session() as s:
            conn = raw(s)
            for i, (row, data) in enumerate(verify(conn, db.path, rows)):
                checkpoint(cancel)
                report("photos", 0.4 * i / max(1, len(rows)))
                if data is None:
                    if not row.deleted:
                        not_included.append({"uuid": row.uuid, "file_name": row.file_name, "sha256": row.sha256,
                                             "owner_table": row.owner_table, "owner_uuid": row.owner_uuid,
                                             "reason": row.status})
                    continue
                entry = f"{PHOTO_FOLDER}/{Path(row.file_name).name}"
                if entry not in written:
                    _add(z, entry, data)
                    written.add(entry)
                    photo_bytes += len(data)
                photos.append({"uuid": row.uuid, "path": entry, "file_name": row.file_name, "sha256": row.sha256,
                               "size": len(data), "owner_table": row.owner_table, "owner_uuid": row.owner_uuid})
        book = tmp.parent / f"{out.stem}.xlsx"
        result = export_workbook(db, book, commune=commune, cancel=cancel, forms=forms, backend=backend,
                                 parallel=parallel, photos=rows,
                                 progress=lambda stage, f: report(stage, 0.4 + 0.55 * f))
        report("package", 0.96)
        sha, size = _sha256_file(book)
        z.write(book, book.name, compress_type=zipfile.ZIP_STORED)
        manifest = {
            "format": PACKAGE_FORMAT, "format_version": PACKAGE_VERSION,
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z",
            "app_version": __version__, "database_id": meta.get("database_id", ""),
            "province_code": meta.get("province_code", ""), "commune_code": commune or "",
            "workbook": {"path": book.name, "sha256": sha, "size": size},
            "photos": photos, "not_included": not_included,
        }
        _add(z, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), zipfile.ZIP_DEFLATED)
    result.path = Path(book.name)   # inside the package
    report("done", 1.0)
    return PackageResult(out, result, len(photos), photo_bytes, not_included, out.stat().st_size)


# -- reading ---------------------------------------------------------------------------------

def is_package(path: str | Path) -> bool:
    """Whether `path` is a sync package (a zip holding the manifest); False for a workbook."""
    try:
        with zipfile.ZipFile(path) as z:
            return MANIFEST in z.NameToInfo
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _problem(path: Path, what: str | None, value, message: str) -> Problem:
    return Problem(path.name, None, what, value, message)


def _read_manifest(path: Path, z: zipfile.ZipFile) -> dict:
    info = z.NameToInfo[MANIFEST]
    if info.file_size > MAX_MANIFEST_BYTES:
        raise InvalidInputError(f"{path}: tệp kê khai {MANIFEST} quá lớn / the manifest is too large")
    try:
        manifest = json.loads(z.read(MANIFEST).decode("utf-8"))
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
        raise InvalidInputError(f"{path}: tệp kê khai {MANIFEST} không đọc được ({exc}) / the manifest cannot "
                                "be read") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
        raise InvalidInputError(f"{path}: không phải gói đồng bộ Hạ tầng / not a Hạ tầng sync package")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"{path}: phiên bản gói không đọc được / unreadable package version")
    if version > PACKAGE_VERSION:
        raise InvalidInputError(f"{path}: gói được tạo bởi phiên bản mới hơn (định dạng gói {version}, chương trình "
                                f"này hỗ trợ đến {PACKAGE_VERSION}); hãy cập nhật Hạ tầng Desktop, không thay đổi gì / "
                                "the package comes from a newer version; update the app, nothing was changed")
    if not isinstance(manifest.get("workbook"), dict) or not isinstance(manifest.get("photos"), list):
        raise InvalidInputError(f"{path}: tệp kê khai thiếu 'workbook' hoặc 'photos' / the manifest lacks "
                                "'workbook' or 'photos'")
    return manifest


def _entry_sha256(z: zipfile.ZipFile, name: str, limit: int) -> tuple[str | None, str | None]:
    """(sha256, None) of a zip entry, or (None, why it cannot be read)."""
    info = z.NameToInfo.get(name)
    if info is None:
        return None, "không có trong gói / not in the package"
    if info.file_size > limit or (info.file_size > 10_000_000 and info.file_size > MAX_RATIO * max(1, info.compress_size)):
        return None, "tệp trong gói quá lớn hoặc nén bất thường / too large or abnormally compressed"
    h = hashlib.sha256()
    try:
        with z.open(info) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return None, f"tệp trong gói bị hỏng ({exc}) / damaged in the package"
    return h.hexdigest(), None


def _extract_workbook(path: Path, z: zipfile.ZipFile, manifest: dict, folder: Path,
                      problems: list[Problem]) -> Path | None:
    entry = manifest["workbook"].get("path")
    if not isinstance(entry, str) or not entry.lower().endswith(".xlsx") or Path(entry).name != entry:
        problems.append(_problem(path, "workbook", entry, "tên sổ Excel trong tệp kê khai không hợp lệ / the "
                                                          "manifest names no workbook"))
        return None
    sha, why = _entry_sha256(z, entry, MAX_WORKBOOK_BYTES)
    if why is not None:
        problems.append(_problem(path, entry, entry, f"sổ Excel {why}"))
        return None
    if sha != manifest["workbook"].get("sha256"):
        problems.append(_problem(path, entry, entry, "sổ Excel trong gói đã bị thay đổi: mã SHA-256 không khớp tệp kê "
                                                     "khai / the workbook was altered: its sha256 does not match"))
        return None
    target = folder / entry
    with z.open(entry) as src, open(target, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            dst.write(chunk)
    return target


def _photo_sheet_rows(book: Path, forms: Forms, problems: list[Problem]) -> list[PhotoRow] | None:
    name = next((n for n in sheet_names(book) if is_photo_sheet(n)), None)
    if name is None:
        problems.append(Problem(book.name, None, None, None, f"sổ trong gói không có trang '{PHOTO_SHEET.vi}' / "
                                                             "the workbook has no photo sheet"))
        return None
    cells = read_sheets(book, clean=False, names=[name]).get(name) or []
    rows, found = parse_photo_sheet(cells, forms, name)
    problems += found
    return rows


def _check_photos(path: Path, z: zipfile.ZipFile, manifest: dict, rows: list[PhotoRow], forms: Forms,
                  problems: list[Problem], report: Progress) -> dict[str, dict]:
    """Every photo of the manifest checked against its file and the sheet; every photo the sheet
    says was there checked against the manifest. Returns uuid -> manifest entry."""
    by_uuid = {r.uuid: r for r in rows}
    entries: dict[str, dict] = {}
    listed = manifest["photos"]
    for i, e in enumerate(listed):
        report("checking photos", 0.02 + 0.08 * i / max(1, len(listed)))
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("uuid", "path", "sha256")):
            problems.append(_problem(path, MANIFEST, None, "một ảnh trong tệp kê khai thiếu uuid, path hoặc sha256 / "
                                                           "a photo of the manifest lacks uuid, path or sha256"))
            continue
        row = by_uuid.get(e["uuid"])
        name = Path(e["path"]).name
        where = (Problem(PHOTO_SHEET.vi, row.row, _FILE_COLUMN, row.file_name, "") if row is not None
                 else _problem(path, e["path"], e["path"], ""))
        whose = f" (ảnh của {row.describe(forms)})" if row is not None else ""

        def say(message: str, where=where) -> None:
            problems.append(Problem(where.sheet, where.row, where.column, where.value, message))

        if row is None:
            say(f"ảnh {name} có trong gói nhưng không có dòng nào trên trang '{PHOTO_SHEET.vi}' / a photo of the "
                "package is not listed in the workbook")
            continue
        entries[e["uuid"]] = e
        sha, why = _entry_sha256(z, e["path"], MAX_PHOTO_BYTES)
        if why is not None:
            say(f"thiếu ảnh {row.file_name}{whose}: {why}" if "không có" in why else f"ảnh {row.file_name}{whose}: {why}")
        elif sha != e["sha256"] or sha != row.sha256:
            say(f"ảnh {row.file_name}{whose} đã bị thay đổi: mã SHA-256 không khớp / the photo was altered: its "
                "sha256 does not match")
    for row in rows:
        if row.deleted or row.uuid in entries:
            continue
        if row.status == PRESENT:
            problems.append(Problem(PHOTO_SHEET.vi, row.row, _FILE_COLUMN, row.file_name,
                                    f"thiếu ảnh {row.file_name} (ảnh của {row.describe(forms)}): sổ ghi là có tệp nhưng "
                                    "gói không có / the workbook lists the file but the package lacks it"))
    return entries


def import_package(db: Database, path: str | Path, *, dry_run: bool = False, forms: Forms | None = None,
                   user: str | None = None, progress: Progress | None = None,
                   cancel: Cancel | None = None) -> ImportResult:
    """Check every hash, then import the workbook and record and copy the photos, all or nothing.
    InvalidPackageError lists every problem found; `result.photos` says what the photos did."""
    path = Path(path)
    forms = forms or load_forms()
    report = progress or (lambda _s, _f: None)
    if not path.is_file():
        raise InvalidInputError(f"{path}: không tìm thấy tệp / file not found")
    report("checking", 0.01)
    with tempfile.TemporaryDirectory(prefix="hatang-goi-") as folder, _open_zip(path) as z:
        if MANIFEST not in z.NameToInfo:
            raise InvalidInputError(f"{path}: tệp .zip này không phải gói gửi Sở (thiếu {MANIFEST}) / this zip is not "
                                    "a sync package")
        manifest = _read_manifest(path, z)
        problems: list[Problem] = []
        book = _extract_workbook(path, z, manifest, Path(folder), problems)
        rows = _photo_sheet_rows(book, forms, problems) if book is not None else None
        entries = _check_photos(path, z, manifest, rows, forms, problems, report) if rows is not None else {}
        if problems:
            if book is not None:
                try:  # the workbook's own problems too, so one round of fixing is enough
                    _renamed(lambda: import_workbook(db, book, dry_run=True, forms=forms), book, path)
                except InvalidWorkbookError as exc:
                    problems += exc.problems
                except InvalidInputError:
                    pass
            raise InvalidPackageError(path, problems)
        extra = PackagePhotos(path, z, rows, entries, db.path, forms)
        try:
            result = _renamed(lambda: import_workbook(
                db, book, dry_run=dry_run, forms=forms, user=user, extra=extra, cancel=cancel,
                progress=lambda stage, f: report(stage, 0.1 + 0.9 * f)), book, path)
        except BaseException:
            extra.undo_files()
            raise
    if result.photos is not None:
        result.photos["applied"] = result.applied
    return result


def import_workbook_or_package(db: Database, path: str | Path, **kwargs) -> ImportResult:
    """`import_package` for a sync package, `importer.import_workbook` for anything else (a .zip
    that is not a package is refused as such)."""
    path = Path(path)
    if is_package(path):
        kwargs.pop("mapping", None)  # a package's workbook is ours: nothing hand-typed to map
        return import_package(db, path, **kwargs)
    if path.suffix.lower() == ".zip" and path.is_file():
        raise InvalidInputError(f"{path}: tệp .zip này không phải gói gửi Sở (thiếu {MANIFEST}); hãy chọn sổ .xlsx "
                                "hoặc gói do Hạ tầng xuất / this zip is not a sync package")
    return import_workbook(db, path, **kwargs)


class _open_zip:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> zipfile.ZipFile:
        try:
            self.z = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, ValueError):
            raise InvalidInputError(f"{self.path}: tệp .zip bị hỏng hoặc không phải .zip / a damaged or non-zip "
                                    "file") from None
        return self.z

    def __exit__(self, *exc) -> None:
        self.z.close()


def _renamed(call: Callable[[], ImportResult], book: Path, path: Path) -> ImportResult:
    """`call()`, with the extracted workbook's temporary path in a refusal named as the package's
    own ("gói.zip › sổ.xlsx")."""
    shown = f"{path} › {book.name}"
    try:
        return call()
    except InvalidWorkbookError as exc:
        if isinstance(exc, InvalidPackageError):
            raise
        raise InvalidPackageError(path, exc.problems) from None
    except InvalidInputError as exc:
        if str(book) in str(exc) and type(exc).__init__ is InvalidInputError.__init__:
            raise type(exc)(str(exc).replace(str(book), shown)) from None
        raise


# -- recording the photos --------------------------------------------------------------------

class PackagePhotos:
    """The photo rows and files of a package, planned and written inside the workbook import's
    transaction (importer.import_workbook's `extra`)."""

    def __init__(self, path: Path, z: zipfile.ZipFile, rows: list[PhotoRow], entries: dict[str, dict],
                 db_path: Path, forms: Forms):
        self.path, self.z, self.rows, self.entries = path, z, rows, entries
        self.db_path, self.forms = Path(db_path), forms
        self.changes = False
        self.inserts: list[PhotoRow] = []
        self.updates: list[PhotoRow] = []
        self.files: list[tuple[PhotoRow, str, str]] = []   # (row, file name here, zip entry)
        self.placed: list[Path] = []                       # files this import created (undone on failure)
        self.summary: dict = {}

    def plan(self, here, result: ImportResult) -> None:
        rows = self.rows
        uuids = [r.uuid for r in rows]
        local: dict[str, tuple] = {}
        by_name: dict[str, str] = {}
        owners: set[tuple[str, str]] = set()
        with here.session() as s:
            for i in range(0, len(uuids), 900):
                chunk = uuids[i:i + 900]
                marks = ", ".join(f":u{k}" for k in range(len(chunk)))
                params = {f"u{k}": u for k, u in enumerate(chunk)}
                for row in s.execute(text(f"SELECT uuid, version, deleted, caption, sha256, owner_table, owner_uuid, "
                                          f"file_name FROM photos WHERE uuid IN ({marks})"), params):
                    local[row[0]] = tuple(row)
            names = sorted({r.file_name for r in rows})
            for i in range(0, len(names), 900):
                chunk = names[i:i + 900]
                marks = ", ".join(f":n{k}" for k in range(len(chunk)))
                by_name.update((n, u) for n, u in s.execute(text(
                    f"SELECT file_name, uuid FROM photos WHERE file_name IN ({marks})"),
                    {f"n{k}": n for k, n in enumerate(chunk)}))
            wanted: dict[str, list[str]] = {}
            for r in rows:
                wanted.setdefault(r.owner_table, []).append(r.owner_uuid)
            for table, owner_uuids in wanted.items():
                owner_uuids = sorted(set(owner_uuids))
                for i in range(0, len(owner_uuids), 900):
                    chunk = owner_uuids[i:i + 900]
                    marks = ", ".join(f":o{k}" for k in range(len(chunk)))
                    owners |= {(table, u) for (u,) in s.execute(text(f"SELECT uuid FROM {table} WHERE uuid IN ({marks})"),
                                                                {f"o{k}": u for k, u in enumerate(chunk)})}
        owners |= {(p.row.record, p.row.uuid) for p in result.plans if p.action == "insert"}
        problems: list[Problem] = []
        unchanged, not_here = 0, []
        for r in rows:
            if (r.owner_table, r.owner_uuid) not in owners:
                problems.append(Problem(PHOTO_SHEET.vi, r.row, "UUID bản ghi", r.owner_uuid,
                                        f"ảnh {r.file_name}: không có {self.forms[r.owner_table].label.vi.lower()} "
                                        "với UUID này trong sổ hoặc cơ sở dữ liệu / the record it belongs to is "
                                        "neither in the workbook nor in the database"))
                continue
            mine = local.get(r.uuid)
            entry = self.entries.get(r.uuid)
            if mine is None:
                other = by_name.get(r.file_name)
                if other is not None:
                    problems.append(Problem(PHOTO_SHEET.vi, r.row, _FILE_COLUMN, r.file_name,
                                            f"tên tệp ảnh đã dùng cho ảnh khác ở đây ({other}) / the file name is used "
                                            "by another photo here"))
                    continue
                self.inserts.append(r)
                target = r.file_name
            else:
                _u, version, deleted, caption, sha, owner_table, owner_uuid, target = mine
                if sha != r.sha256 or (owner_table, owner_uuid) != (r.owner_table, r.owner_uuid):
                    problems.append(Problem(PHOTO_SHEET.vi, r.row, "UUID ảnh", r.uuid,
                                            f"ảnh {r.file_name}: UUID này ở đây là một ảnh khác (khác mã SHA-256 hoặc "
                                            "bản ghi) / this photo UUID is another photo here"))
                    continue
                # A photo's content never changes (its sha256 is its identity); its tombstone and
                # caption do: the later version wins, an equal one keeps this database's.
                if r.version > version and (bool(deleted) != r.deleted or (caption or None) != r.caption):
                    self.updates.append(r)
            needs_file = entry is not None and not r.deleted and not self._file_ok(target, r.sha256)
            if needs_file:
                self.files.append((r, target, entry["path"]))
            if mine is not None and not needs_file and (not self.updates or self.updates[-1] is not r):
                unchanged += 1
            if entry is None and not r.deleted and r.status != PRESENT:
                not_here.append({"file_name": r.file_name, "record": r.describe(self.forms),
                                 "status": STATUS_LABELS.get(r.status, r.status)})
        if problems:
            raise InvalidPackageError(self.path, problems)
        self.changes = bool(self.inserts or self.updates or self.files)
        actions: dict[str, tuple[PhotoRow, str]] = {}
        for r, _name, _entry in self.files:
            actions[r.uuid] = (r, "file")      # only the file: the row is here already
        for r in self.updates:
            actions[r.uuid] = (r, "update")
        for r in self.inserts:
            actions[r.uuid] = (r, "add")
        self.summary = {
            "in_package": len(self.entries), "added": len(self.inserts), "updated": len(self.updates),
            "files_copied": len(self.files), "unchanged": unchanged, "not_in_package": not_here,
            "items": [{"file_name": r.file_name, "record_type": r.owner_table, "record_code": r.owner_code,
                       "record_uuid": r.owner_uuid, "photo_uuid": r.uuid, "action": action}
                      for r, action in actions.values()],
        }
        result.photos = self.summary
        if not_here:
            result.warnings.append(f"{len(not_here)} ảnh không có tệp ở nơi xuất; chỉ ghi nhận dòng ảnh (hiện là "
                                   "'thiếu ảnh') / photos without their file where exported: recorded as missing")

    def _file_ok(self, name: str, sha256: str) -> bool:
        target = photo_path(self.db_path, name)
        try:
            return target.is_file() and file_sha256(target) == sha256
        except OSError:
            return False

    def write(self, s) -> None:
        now = str(dt.datetime.now(dt.UTC).replace(tzinfo=None))
        who, source = s.info["user"], f"package:{self.path.name}"
        if self.inserts:
            s.execute(text(
                "INSERT INTO photos(uuid, version, updated_at, updated_by, source, deleted, owner_table, owner_uuid, "
                "file_name, sha256, taken_at, lat, lon, caption, original_name, width, height) VALUES (:uuid, :version, "
                ":now, :who, :source, :deleted, :owner_table, :owner_uuid, :file_name, :sha256, :taken_at, :lat, :lon, "
                ":caption, :original_name, :width, :height)"),
                [{"uuid": r.uuid, "version": r.version, "now": now, "who": who, "source": source,
                  "deleted": int(r.deleted), "owner_table": r.owner_table, "owner_uuid": r.owner_uuid,
                  "file_name": r.file_name, "sha256": r.sha256, "taken_at": r.taken_at, "lat": r.lat, "lon": r.lon,
                  "caption": r.caption, "original_name": r.original_name, "width": r.width, "height": r.height}
                 for r in self.inserts])
        for r in self.updates:
            s.execute(text("UPDATE photos SET deleted = :d, caption = :c, version = :v, updated_at = :now, "
                           "updated_by = :who, source = :source WHERE uuid = :u"),
                      {"d": int(r.deleted), "c": r.caption, "v": r.version, "now": now, "who": who,
                       "source": source, "u": r.uuid})
        s.flush()
        if self.files:
            folder = photo_dir(self.db_path)
            folder.mkdir(exist_ok=True)
            for r, name, entry in self.files:
                data = self.z.read(entry)
                if hashlib.sha256(data).hexdigest() != r.sha256:  # changed since it was checked
                    raise InvalidPackageError(self.path, [Problem(PHOTO_SHEET.vi, r.row, _FILE_COLUMN, r.file_name,
                                                                  f"ảnh {r.file_name} đã bị thay đổi / the photo was altered")])
                final = photo_path(self.db_path, name)
                existed = final.exists()
                temp = folder / f".{final.name}.{secrets.token_hex(4)}.part"
                try:
                    with open(temp, "wb") as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(temp, final)
                finally:
                    temp.unlink(missing_ok=True)
                if not existed:
                    self.placed.append(final)

    def undo_files(self) -> None:
        """Remove the files this import put in the photo folder (its transaction rolled back)."""
        for p in self.placed:
            p.unlink(missing_ok=True)
        self.placed = []


__all__ = ["MANIFEST", "PACKAGE_FORMAT", "PACKAGE_VERSION", "InvalidPackageError", "PackageResult", "PackagePhotos",
           "export_package", "import_package", "import_workbook_or_package", "is_package"]
