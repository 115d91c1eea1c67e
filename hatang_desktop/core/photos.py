"""Photos attached to surveyed records, kept as files next to the database.

Headless (no Qt). The thumbnail strip in a record's form is `ui/photo_list.py`.

Where the files are
    `photo_dir(db_path)`: a folder beside the database named after it, `<db stem>_anh/`
    (`ha_tinh.db` -> `ha_tinh_anh/`). Each photo is stored as `<photo uuid>.jpg`, so names never
    clash and a copied project folder still matches its rows. Thumbnails are cached in
    `<db stem>_anh/.thumbs/` and can be deleted at any time (they are remade on demand).

Attaching (`attach_photo`, or `prepare_photo` + `add_prepared` to save a photo in the same
transaction as its record)
    The picked file is decoded (Pillow), turned upright from its EXIF orientation, shrunk so its
    longest edge is at most `max_edge` pixels (default 2048; never enlarged) and written as JPEG.
    The EXIF time (DateTimeOriginal, with OffsetTimeOriginal when present) and GPS position are
    read from the original, written into the copy's EXIF and stored in the photo row (`taken_at`,
    `lat`, `lon`), with the copy's sha256, pixel size and the original file name. The copy is
    written to a temporary name and moved into place only inside the database transaction: bad
    input (missing file, not an image, unreadable, truncated) raises `PhotoError` with a
    Vietnamese message naming the file, and leaves neither a row nor a file behind. Attaching the
    same picture to the same record twice is refused (same sha256).

Record types
    `PHOTO_TABLES`: sites, poles, fibre_routes, findings, zones (the schema's list). Photos of a
    site tenant or a pole attachment go on the site or pole.

Listing and removing
    `list_photos` returns `PhotoInfo` rows with `status`: "present", "missing" (the file is gone:
    shown as missing, never an exception) or, with `verify=True`, "changed" (the file no longer
    matches its sha256). `remove_photo` tombstones the row (deleted = 1) and keeps the file, so an
    undo (`restore_photo`) brings it back and the deletion can travel to the department.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .errors import InvalidInputError
from .messages import Text
from .model import Photo
from .storage.database import Database
from .storage.files import is_open_here

PHOTO_TABLES = ("sites", "poles", "fibre_routes", "findings", "zones")
DEFAULT_MAX_EDGE = 2048
THUMB_EDGE = 160
JPEG_QUALITY = 88
PHOTO_DIR_SUFFIX = "_anh"
THUMB_DIR = ".thumbs"
# What the file dialog offers; any format Pillow decodes is accepted when dropped.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif")

PRESENT, MISSING, CHANGED = "present", "missing", "changed"

_DESCRIPTIONS = {"sites": "trạm", "poles": "cột", "fibre_routes": "tuyến cáp", "findings": "vi phạm",
                 "zones": "khu vực"}


class PhotoError(InvalidInputError):
    """A photo that cannot be attached (the message names the file and says why)."""

    def __init__(self, path, problem_vi: str, problem_en: str):
        self.path = str(path)
        super().__init__(Text(problem_vi, problem_en).prefixed(f"{Path(path).name}: "))


@dataclass(frozen=True)
class ExifInfo:
    taken_at: str | None  # ISO 8601 local camera time, with its UTC offset when the camera gave one
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class PhotoInfo:
    uuid: str
    owner_table: str
    owner_uuid: str
    file_name: str
    path: Path
    sha256: str
    taken_at: str | None
    lat: float | None
    lon: float | None
    caption: str | None
    original_name: str | None
    width: int | None
    height: int | None
    deleted: bool
    status: str  # PRESENT, MISSING or CHANGED

    @property
    def present(self) -> bool:
        return self.status == PRESENT


@dataclass
class PreparedPhoto:
    """A resized copy written under a temporary name, waiting for its database row."""
    uuid: str
    temp_path: Path
    final_path: Path
    sha256: str
    exif: ExifInfo
    width: int
    height: int
    original_name: str

    @property
    def file_name(self) -> str:
        return self.final_path.name

    def discard(self) -> None:
        self.temp_path.unlink(missing_ok=True)


# -- places ----------------------------------------------------------------------------------

def photo_dir(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.stem + PHOTO_DIR_SUFFIX)


def photo_path(db_path: str | Path, file_name: str) -> Path:
    # A name from an imported row must stay inside the folder ("../x" would point anywhere).
    return photo_dir(db_path) / Path(file_name).name


# -- EXIF ------------------------------------------------------------------------------------

def _exif_time(exif: Image.Exif) -> str | None:
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    raw = sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not isinstance(raw, str):
        return None
    try:
        when = dt.datetime.strptime(raw.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other placeholders cameras write
    text_ = when.isoformat(timespec="seconds")
    offset = sub.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, str) and len(offset.strip()) == 6 and offset.strip()[0] in "+-":
        text_ += offset.strip()
    return text_


def _dms(value) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return d + m / 60 + s / 3600


def _exif_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if not gps:
        return None, None
    lat, lon = _dms(gps.get(ExifTags.GPS.GPSLatitude)), _dms(gps.get(ExifTags.GPS.GPSLongitude))
    if lat is None or lon is None:
        return None, None
    if str(gps.get(ExifTags.GPS.GPSLatitudeRef, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(ExifTags.GPS.GPSLongitudeRef, "E")).upper().startswith("W"):
        lon = -lon
    # (0, 0) is what many phones write when they had no fix.
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lat, lon


def read_exif(image: Image.Image) -> ExifInfo:
    try:
        exif = image.getexif()
        lat, lon = _exif_position(exif)
        return ExifInfo(_exif_time(exif), lat, lon)
    except Exception:  # a damaged EXIF block must not stop the photo itself
        return ExifInfo(None, None, None)


def _kept_exif(source: Image.Image) -> bytes:
    """A fresh, small EXIF for the copy: camera, time and GPS only. The original's orientation is
    already applied to the pixels, and its embedded thumbnail and maker notes would be stale."""
    out = Image.Exif()
    try:
        exif = source.getexif()
        for tag in (ExifTags.Base.Make, ExifTags.Base.Model, ExifTags.Base.DateTime):
            if tag in exif:
                out[tag] = exif[tag]
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        kept = {t: sub[t] for t in (ExifTags.Base.DateTimeOriginal, ExifTags.Base.OffsetTimeOriginal)
                if t in sub}
        if kept:
            out[ExifTags.IFD.Exif] = kept
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            out[ExifTags.IFD.GPSInfo] = dict(gps)
        return out.tobytes()
    except Exception:
        return b""


# -- decoding and writing --------------------------------------------------------------------

def _open_image(path: Path, draft_edge: int | None) -> Image.Image:
    """The decoded image, or PhotoError saying (in Vietnamese) what is wrong with the file."""
    if not path.exists():
        raise PhotoError(path, "không tìm thấy tệp ảnh", "file not found")
    if path.is_dir():
        raise PhotoError(path, "đây là thư mục, không phải tệp ảnh", "this is a folder, not an image")
    if is_open_here(path):  # reading it here would drop SQLite's locks on it (storage/files.py)
        raise PhotoError(path, "đây là cơ sở dữ liệu đang mở, không phải tệp ảnh",
                         "this is the database open in this program, not an image")
    try:
        image = Image.open(path)
        if draft_edge and image.format == "JPEG":
            # Decode a big JPEG at 1/2, 1/4 or 1/8 scale straight away (never below draft_edge):
            # a 24-megapixel phone photo then takes a fraction of the time and memory.
            image.draft("RGB", (draft_edge, draft_edge))
        image.load()
        return image
    except PermissionError:
        raise PhotoError(path, "không có quyền đọc tệp", "permission denied") from None
    except UnidentifiedImageError:
        raise PhotoError(path, "không phải tệp ảnh (hoặc định dạng không hỗ trợ; hãy dùng JPEG hoặc PNG)",
                         "not an image, or an unsupported format (use JPEG or PNG)") from None
    except Image.DecompressionBombError:
        raise PhotoError(path, "ảnh quá lớn (quá nhiều điểm ảnh)", "the image is too large") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(path, f"tệp ảnh bị hỏng hoặc không đọc được ({exc})",
                         f"the image file is damaged or unreadable ({exc})") from None


def _as_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparent areas over white, as they look in any viewer; JPEG has no alpha.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _encode(image: Image.Image, max_edge: int, exif: bytes = b"", quality: int = JPEG_QUALITY) -> tuple[bytes, int, int]:
    upright = ImageOps.exif_transpose(image) or image
    upright = _as_rgb(upright)
    if max(upright.size) > max_edge:
        upright = upright.copy()
        upright.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    upright.save(buffer, "JPEG", quality=quality, optimize=True, exif=exif)
    return buffer.getvalue(), upright.width, upright.height


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def prepare_photo(db_path: str | Path, source: str | Path, *, max_edge: int = DEFAULT_MAX_EDGE) -> PreparedPhoto:
    """Decode, resize and write the copy under a temporary name in the photo folder.

    Call `add_prepared` inside a database operation to give it its row, or `discard()` it."""
    if max_edge < 16:
        raise ValueError("max_edge must be at least 16 pixels")
    source = Path(source)
    image = _open_image(source, max_edge)
    info = read_exif(image)
    data, width, height = _encode(image, max_edge, _kept_exif(image))
    folder = photo_dir(db_path)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise PhotoError(folder, f"không tạo được thư mục ảnh ({exc.strerror})",
                         f"cannot create the photo folder ({exc.strerror})") from None
    photo_uuid = str(uuidlib.uuid4())
    final = folder / f"{photo_uuid}.jpg"
    temp = folder / f".{photo_uuid}.jpg.part"
    try:
        _write_durably(temp, data)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise PhotoError(final, f"không ghi được ảnh vào thư mục dự án ({exc.strerror})",
                         f"cannot write the photo into the project folder ({exc.strerror})") from None
    return PreparedPhoto(uuid=photo_uuid, temp_path=temp, final_path=final,
                         sha256=hashlib.sha256(data).hexdigest(), exif=info, width=width, height=height,
                         original_name=source.name)


def _check_owner(session: Session, owner_table: str, owner_uuid: str) -> None:
    if owner_table not in PHOTO_TABLES:
        raise InvalidInputError(f"không đính kèm ảnh được vào loại bản ghi '{owner_table}' / photos cannot be "
                                f"attached to '{owner_table}' (allowed: {', '.join(PHOTO_TABLES)})")
    deleted = session.execute(text(f"SELECT deleted FROM {owner_table} WHERE uuid = :u"),
                              {"u": owner_uuid}).scalar()
    if deleted is None or deleted:
        raise InvalidInputError(f"{owner_uuid}: không có {_DESCRIPTIONS[owner_table]} này (hoặc đã bị xóa) / "
                                f"no such {owner_table} record (or it was deleted)")


def add_prepared(session: Session, prepared: PreparedPhoto, owner_table: str, owner_uuid: str,
                 caption: str | None = None) -> Photo:
    """Give a prepared photo its row and move its file into place, inside the caller's operation.

    If the operation then fails, the caller must delete `prepared.final_path` and
    `prepared.temp_path` (`attach_photo` does); the row is rolled back by the transaction."""
    _check_owner(session, owner_table, owner_uuid)
    duplicate = session.execute(
        text("SELECT original_name FROM photos WHERE owner_table = :t AND owner_uuid = :o "
             "AND sha256 = :h AND deleted = 0"),
        {"t": owner_table, "o": owner_uuid, "h": prepared.sha256}).first()
    if duplicate is not None:
        raise PhotoError(prepared.original_name, "ảnh này đã được đính kèm vào bản ghi"
                         + (f" (tệp {duplicate[0]})" if duplicate[0] else ""),
                         "this photo is already attached to the record")
    photo = Photo(uuid=prepared.uuid, owner_table=owner_table, owner_uuid=owner_uuid,
                  file_name=prepared.file_name, sha256=prepared.sha256, taken_at=prepared.exif.taken_at,
                  lat=prepared.exif.lat, lon=prepared.exif.lon, caption=caption,
                  original_name=prepared.original_name, width=prepared.width, height=prepared.height)
    session.add(photo)
    session.flush()
    os.replace(prepared.temp_path, prepared.final_path)
    return photo


def attach_photo(db: Database, owner_table: str, owner_uuid: str, source: str | Path, *,
                 max_edge: int = DEFAULT_MAX_EDGE, caption: str | None = None, user: str | None = None,
                 source_label: str | None = None) -> PhotoInfo:
    """Copy `source` (resized, as JPEG) into the project's photo folder and attach it to the record.

    One transaction; on any failure nothing is left behind (no row, no file)."""
    prepared = prepare_photo(db.path, source, max_edge=max_edge)
    try:
        with db.operation(f"Đính kèm ảnh {Path(source).name}", user=user, source=source_label) as s:
            add_prepared(s, prepared, owner_table, owner_uuid, caption)
    except BaseException:
        prepared.discard()
        prepared.final_path.unlink(missing_ok=True)
        raise
    return get_photo(db, prepared.uuid)


# -- reading ---------------------------------------------------------------------------------

def _info(db_path: Path, p: Photo, verify: bool) -> PhotoInfo:
    path = photo_path(db_path, p.file_name)
    status = PRESENT if path.is_file() else MISSING
    if status == PRESENT and verify:
        try:
            if file_sha256(path) != p.sha256:
                status = CHANGED
        except OSError:
            status = MISSING
    return PhotoInfo(uuid=p.uuid, owner_table=p.owner_table, owner_uuid=p.owner_uuid, file_name=p.file_name,
                     path=path, sha256=p.sha256, taken_at=p.taken_at, lat=p.lat, lon=p.lon, caption=p.caption,
                     original_name=p.original_name, width=p.width, height=p.height, deleted=bool(p.deleted),
                     status=status)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_photos(db: Database, owner_table: str, owner_uuid: str, *, include_deleted: bool = False,
                verify: bool = False) -> list[PhotoInfo]:
    """The record's photos in the order they were attached; a missing file is a status, not an error."""
    with db.session() as s:
        q = select(Photo).where(Photo.owner_table == owner_table, Photo.owner_uuid == owner_uuid)
        if not include_deleted:
            q = q.where(Photo.deleted == False)  # noqa: E712 (a Flag binds 0; IS false fails on an integer column)
        rows = s.scalars(q.order_by(Photo.id)).all()
    return [_info(db.path, p, verify) for p in rows]


def get_photo(db: Database, photo_uuid: str, *, verify: bool = False) -> PhotoInfo:
    with db.session() as s:
        p = s.scalars(select(Photo).where(Photo.uuid == photo_uuid)).one_or_none()
    if p is None:
        raise InvalidInputError(f"{photo_uuid}: không có ảnh này / no such photo")
    return _info(db.path, p, verify)


def _set_deleted(db: Database, photo_uuid: str, deleted: bool, description: str, user: str | None) -> None:
    with db.operation(description, user=user) as s:
        p = s.scalars(select(Photo).where(Photo.uuid == photo_uuid)).one_or_none()
        if p is None:
            raise InvalidInputError(f"{photo_uuid}: không có ảnh này / no such photo")
        if bool(p.deleted) != deleted:
            p.deleted = deleted


def remove_photo(db: Database, photo_uuid: str, *, user: str | None = None) -> None:
    """Tombstone the photo (deleted = 1). The file stays so the removal can be undone."""
    _set_deleted(db, photo_uuid, True, "Xóa ảnh", user)


def restore_photo(db: Database, photo_uuid: str, *, user: str | None = None) -> None:
    """Undo `remove_photo`."""
    _set_deleted(db, photo_uuid, False, "Khôi phục ảnh", user)


# -- thumbnails ------------------------------------------------------------------------------

def thumbnail_of_file(path: str | Path, edge: int = THUMB_EDGE) -> bytes:
    """A small upright JPEG of any image file (for files not attached yet). Raises PhotoError."""
    image = _open_image(Path(path), edge)
    data, _, _ = _encode(image, edge, quality=80)
    return data


def thumbnail(db_path: str | Path, photo: PhotoInfo, edge: int = THUMB_EDGE) -> bytes | None:
    """The photo's thumbnail as JPEG bytes, from the cache or made now; None if the file is
    missing or damaged. A cache that cannot be written (read-only media) is simply skipped."""
    if not photo.path.is_file():
        return None
    cache = photo_dir(db_path) / THUMB_DIR / f"{photo.uuid}_{edge}.jpg"
    try:
        if cache.is_file() and cache.stat().st_mtime >= photo.path.stat().st_mtime:
            return cache.read_bytes()
    except OSError:
        pass
    try:
        data = thumbnail_of_file(photo.path, edge)
    except PhotoError:
        return None
    try:
        cache.parent.mkdir(exist_ok=True)
        temp = cache.with_name(f".{cache.name}.{uuidlib.uuid4().hex[:6]}.part")
        temp.write_bytes(data)
        os.replace(temp, cache)
    except OSError:
        pass
    return data


__all__ = ["PHOTO_TABLES", "DEFAULT_MAX_EDGE", "THUMB_EDGE", "IMAGE_SUFFIXES", "PRESENT", "MISSING",
           "CHANGED", "PhotoError", "PhotoInfo", "PreparedPhoto", "ExifInfo", "photo_dir", "photo_path",
           "read_exif", "prepare_photo", "add_prepared", "attach_photo", "list_photos", "get_photo",
           "remove_photo", "restore_photo", "thumbnail", "thumbnail_of_file", "file_sha256"]
