"""Photos: copied beside the database, resized, EXIF time and GPS kept, sha256, thumbnails,
missing files shown as missing, tombstones, and bad input leaving nothing behind."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from sqlalchemy import text

from hatang_desktop.core import photos
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.model import Pole, Site
from hatang_desktop.core.storage.database import Database

V1 = Path(__file__).parent.parent / "data" / "schema_v1.db"

# Where and when the test camera "took" the picture: a pole in Hà Tĩnh, 8:31 local time.
GPS_LAT_DMS, GPS_LON_DMS = (18.0, 20.0, 36.61), (105.0, 54.0, 21.6)
TAKEN = "2025:03:14 08:31:02"


def _dms_to_deg(d, m, s):
    return d + m / 60 + s / 3600


def make_jpeg(path: Path, size=(3000, 2000), *, gps=True, when=TAKEN, orientation=None, colour="#3a7") -> Path:
    """A real JPEG with camera EXIF, drawn with a marker in the top-left corner so the orientation
    can be checked after the copy is made upright."""
    image = Image.new("RGB", size, colour)
    image.paste((255, 0, 0), (0, 0, size[0] // 10, size[1] // 10))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "HT-1"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if when:
        exif[ExifTags.IFD.Exif] = {ExifTags.Base.DateTimeOriginal: when,
                                   ExifTags.Base.OffsetTimeOriginal: "+07:00"}
    if gps:
        exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: GPS_LAT_DMS,
                                      ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: GPS_LON_DMS}
    image.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


@pytest.fixture
def site_uuid(empty_db) -> str:
    with empty_db.operation("add site", user="tester") as s:
        site = Site(operator_code="VTL", site_code="HTH001", name="Trạm Thạch Linh", lat=18.3435, lon=105.906)
        s.add(site)
        s.flush()
        return site.uuid


def _files(db) -> list[Path]:
    folder = photos.photo_dir(db.path)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _photo_rows(db) -> int:
    with db.session() as s:
        return s.execute(text("SELECT count(*) FROM photos")).scalar_one()


def test_attach_copies_resizes_keeps_exif_and_records_sha(empty_db, site_uuid, tmp_path):
    src = make_jpeg(tmp_path / "IMG_0001.JPG")
    before = src.read_bytes()
    info = photos.attach_photo(empty_db, "sites", site_uuid, src, user="tester")

    assert info.path.parent == tmp_path / "ht_anh"  # beside ht.db, named after it
    assert info.path.is_file() and info.status == photos.PRESENT
    assert src.read_bytes() == before  # the original is never touched
    assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
    assert info.original_name == "IMG_0001.JPG"
    with Image.open(info.path) as copy:
        assert copy.format == "JPEG"
        assert max(copy.size) == 2048 and (copy.width, copy.height) == (info.width, info.height)
        assert abs(copy.width / copy.height - 1.5) < 0.01
        exif = copy.getexif()
        assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] == TAKEN
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert tuple(float(v) for v in gps[ExifTags.GPS.GPSLongitude]) == GPS_LON_DMS
    assert info.taken_at == "2025-03-14T08:31:02+07:00"
    assert info.lat == pytest.approx(_dms_to_deg(*GPS_LAT_DMS), abs=1e-7)
    assert info.lon == pytest.approx(_dms_to_deg(*GPS_LON_DMS), abs=1e-7)
    listed = photos.list_photos(empty_db, "sites", site_uuid, verify=True)
    assert [p.uuid for p in listed] == [info.uuid] and listed[0].status == photos.PRESENT
    with empty_db.session() as s:  # the change log attributes the attachment to the user
        assert s.execute(text("SELECT user FROM change_log WHERE record_uuid = :u AND action = 'insert'"),
                         {"u": info.uuid}).scalar_one() == "tester"


def test_max_edge_is_configurable_and_small_images_are_not_enlarged(empty_db, site_uuid, tmp_path):
    big = photos.attach_photo(empty_db, "sites", site_uuid, make_jpeg(tmp_path / "a.jpg"), max_edge=800)
    assert (big.width, big.height) == (800, 533)
    small = photos.attach_photo(empty_db, "sites", site_uuid,
                                make_jpeg(tmp_path / "b.jpg", size=(640, 480), colour="#a37"))
    assert (small.width, small.height) == (640, 480)


def test_exif_orientation_is_applied_to_the_pixels(empty_db, site_uuid, tmp_path):
    # Orientation 6: the camera was turned; viewers rotate 90° clockwise to show it upright.
    src = make_jpeg(tmp_path / "portrait.jpg", size=(1200, 800), orientation=6)
    info = photos.attach_photo(empty_db, "sites", site_uuid, src)
    with Image.open(info.path) as copy:
        assert (copy.width, copy.height) == (800, 1200)
        assert ExifTags.Base.Orientation not in copy.getexif()
        # The red marker was top-left in the sensor's frame: after the rotation it is top-right.
        assert copy.convert("RGB").getpixel((copy.width - 5, 5))[0] > 200
        assert copy.convert("RGB").getpixel((5, 5))[0] < 100


def test_png_without_exif_becomes_jpeg_without_time_or_position(empty_db, site_uuid, tmp_path):
    src = tmp_path / "so_do.png"
    Image.new("RGBA", (300, 200), (0, 0, 255, 0)).save(src)
    info = photos.attach_photo(empty_db, "sites", site_uuid, src)
    assert info.path.suffix == ".jpg" and info.taken_at is None and info.lat is None and info.lon is None
    with Image.open(info.path) as copy:
        assert copy.mode == "RGB" and copy.getpixel((10, 10)) == (255, 255, 255)  # transparent -> white


def _truncated(tmp_path) -> Path:
    full = make_jpeg(tmp_path / "full.jpg", size=(800, 600)).read_bytes()
    path = tmp_path / "dut_day.jpg"
    path.write_bytes(full[: len(full) // 3])
    return path


def _text_file(tmp_path) -> Path:
    path = tmp_path / "ghi_chu.jpg"
    path.write_text("không phải ảnh", encoding="utf-8")
    return path


def _empty_file(tmp_path) -> Path:
    path = tmp_path / "rong.jpg"
    path.write_bytes(b"")
    return path


def _folder(tmp_path) -> Path:
    path = tmp_path / "thu_muc.jpg"
    path.mkdir()
    return path


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "khong_co.jpg", "không tìm thấy"),
    (_text_file, "không phải tệp ảnh"),
    (_empty_file, "không phải tệp ảnh"),
    (_truncated, "bị hỏng"),
    (_folder, "thư mục"),
    (lambda d: d / "ht.db", "cơ sở dữ liệu đang mở"),  # empty_db's own file: never read as an image
])
def test_bad_input_names_the_file_and_writes_nothing(empty_db, site_uuid, tmp_path, make, words):
    src = make(tmp_path)
    with pytest.raises(photos.PhotoError) as err:
        photos.attach_photo(empty_db, "sites", site_uuid, src)
    assert src.name in str(err.value) and words in str(err.value)
    assert _photo_rows(empty_db) == 0
    assert _files(empty_db) == []  # no copy, no half-written temporary file


def test_failure_inside_the_transaction_leaves_no_file(empty_db, tmp_path):
    src = make_jpeg(tmp_path / "a.jpg", size=(400, 300))
    with pytest.raises(InvalidInputError, match="không có trạm này"):
        photos.attach_photo(empty_db, "sites", "00000000-0000-4000-8000-00000000dead", src)
    with pytest.raises(InvalidInputError, match="zones_x|không đính kèm"):
        photos.attach_photo(empty_db, "zones_x", "00000000-0000-4000-8000-00000000dead", src)
    assert _photo_rows(empty_db) == 0 and _files(empty_db) == []


def test_same_picture_twice_is_refused(empty_db, site_uuid, tmp_path):
    src = make_jpeg(tmp_path / "a.jpg", size=(400, 300))
    photos.attach_photo(empty_db, "sites", site_uuid, src)
    copy = tmp_path / "a_copy.jpg"
    shutil.copyfile(src, copy)
    with pytest.raises(photos.PhotoError, match="đã được đính kèm"):
        photos.attach_photo(empty_db, "sites", site_uuid, copy)
    assert _photo_rows(empty_db) == 1 and len(_files(empty_db)) == 1


def test_missing_file_is_listed_as_missing_and_never_crashes(empty_db, site_uuid, tmp_path):
    a = photos.attach_photo(empty_db, "sites", site_uuid, make_jpeg(tmp_path / "a.jpg", size=(400, 300)))
    b = photos.attach_photo(empty_db, "sites", site_uuid,
                            make_jpeg(tmp_path / "b.jpg", size=(400, 300), colour="#722"))
    a.path.unlink()
    b.path.write_bytes(b.path.read_bytes()[:-200] + b"\0" * 200)  # edited or damaged on disk
    listed = {p.uuid: p for p in photos.list_photos(empty_db, "sites", site_uuid, verify=True)}
    assert listed[a.uuid].status == photos.MISSING and not listed[a.uuid].present
    assert listed[b.uuid].status == photos.CHANGED
    assert photos.thumbnail(empty_db.path, listed[a.uuid]) is None
    assert photos.list_photos(empty_db, "sites", site_uuid)[1].status == photos.PRESENT  # no verify: cheap


def test_remove_is_a_tombstone_and_can_be_undone(empty_db, site_uuid, tmp_path):
    info = photos.attach_photo(empty_db, "sites", site_uuid, make_jpeg(tmp_path / "a.jpg", size=(400, 300)))
    photos.remove_photo(empty_db, info.uuid, user="inspector")
    assert photos.list_photos(empty_db, "sites", site_uuid) == []
    gone = photos.list_photos(empty_db, "sites", site_uuid, include_deleted=True)
    assert [p.deleted for p in gone] == [True]
    assert info.path.is_file()  # kept for undo and for the deletion to travel
    conn = sqlite3.connect(empty_db.path)
    assert conn.execute("SELECT action, user FROM change_log WHERE record_uuid = ? AND field = 'deleted'",
                        (info.uuid,)).fetchall() == [("delete", "inspector")]
    with pytest.raises(sqlite3.IntegrityError, match="tombstoned"):
        conn.execute("DELETE FROM photos")
    conn.close()
    photos.restore_photo(empty_db, info.uuid)
    assert [p.uuid for p in photos.list_photos(empty_db, "sites", site_uuid)] == [info.uuid]


def test_thumbnail_is_small_upright_and_cached(empty_db, site_uuid, tmp_path):
    info = photos.attach_photo(empty_db, "sites", site_uuid,
                               make_jpeg(tmp_path / "a.jpg", size=(1200, 800), orientation=6))
    data = photos.thumbnail(empty_db.path, info)
    cached = list((photos.photo_dir(empty_db.path) / ".thumbs").glob(f"{info.uuid}_*.jpg"))
    assert len(cached) == 1 and cached[0].read_bytes() == data
    from io import BytesIO
    with Image.open(BytesIO(data)) as thumb:
        assert max(thumb.size) == photos.THUMB_EDGE and thumb.height > thumb.width
    assert photos.thumbnail(empty_db.path, info) == data


def test_photos_attach_to_other_record_types(empty_db, tmp_path):
    with empty_db.operation("add pole") as s:
        pole = Pole(code="C-01", owner_kind="power", lat=18.34, lon=105.9)
        s.add(pole)
        s.flush()
        pole_uuid = pole.uuid
    info = photos.attach_photo(empty_db, "poles", pole_uuid, make_jpeg(tmp_path / "cot.jpg", size=(500, 400)))
    assert [p.uuid for p in photos.list_photos(empty_db, "poles", pole_uuid)] == [info.uuid]


def test_prepared_photo_saves_with_its_record_in_one_transaction(empty_db, tmp_path):
    """What a form does for a new record: the photo row and the record commit together."""
    prepared = photos.prepare_photo(empty_db.path, make_jpeg(tmp_path / "a.jpg", size=(500, 400)))
    assert prepared.temp_path.is_file() and not prepared.final_path.exists()
    with empty_db.operation("add site with photo") as s:
        site = Site(operator_code="VNPT", site_code="HTH777", lat=18.35, lon=105.91)
        s.add(site)
        s.flush()
        photos.add_prepared(s, prepared, "sites", site.uuid)
        site_uuid = site.uuid
    assert not prepared.temp_path.exists() and prepared.final_path.is_file()
    assert [p.uuid for p in photos.list_photos(empty_db, "sites", site_uuid)] == [prepared.uuid]


def test_schema_3_upgrade_adds_photo_columns(tmp_path):
    path = tmp_path / "old.db"
    shutil.copyfile(V1, path)
    with Database.open(path) as db:
        assert db.schema_version >= 3
        with db.session() as s:
            site_uuid = s.execute(text("SELECT uuid FROM sites")).scalar_one()
        info = photos.attach_photo(db, "sites", site_uuid, make_jpeg(tmp_path / "a.jpg", size=(300, 200)))
        assert (info.width, info.height) == (300, 200)
    assert photos.photo_dir(path) == tmp_path / "old_anh"
