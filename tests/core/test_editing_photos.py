"""A form's save: its photos attached and removed in the record's own operation (one undo
step), a refused file leaves nothing written, neither the fields nor a row nor a file; and a wrong
value typed over a stored one is refused, never saved as empty."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hatang_desktop.core import editing, photos
from hatang_desktop.core.editing import PhotoEdits
from hatang_desktop.core.storage.database import Database
from hatang_desktop.core.undo import undo_operation

from .test_photos import make_jpeg


@pytest.fixture
def db(sample_db_path):
    with Database.open(sample_db_path) as database:
        database.user = "tester"
        yield database


def _site(db) -> str:
    with db.session() as s:
        return s.execute(text("SELECT uuid FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")).scalar()


def _operations(db) -> int:
    with db.session() as s:
        return s.execute(text("SELECT count(*) FROM operations")).scalar()


def _logged_tables(db, operation_id: int) -> set[str]:
    with db.session() as s:
        return {t for (t,) in s.execute(text("SELECT DISTINCT table_name FROM change_log WHERE operation_id = :o"),
                                        {"o": operation_id})}


def _files(db) -> list[str]:
    folder = photos.photo_dir(db.path)
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def test_field_edit_and_photo_are_one_operation_and_one_undo(db, tmp_path):
    site = _site(db)
    ops = _operations(db)
    result = editing.save_record(db, "sites", {"note": "có ảnh"}, uuid=site,
                                 photos=PhotoEdits(add=[make_jpeg(tmp_path / "a.jpg", (400, 300))]))
    assert _operations(db) == ops + 1
    assert _logged_tables(db, result.operation_id) == {"sites", "photos"}
    (shown,) = photos.list_photos(db, "sites", site)
    assert shown.present and shown.original_name == "a.jpg"
    undo_operation(db, result.operation_id)
    assert photos.list_photos(db, "sites", site) == []
    assert editing.read_values(db, "sites", site)["note"] != "có ảnh"


def test_a_new_record_and_its_photo_are_one_operation(db, tmp_path):
    ops = _operations(db)
    result = editing.save_record(db, "sites", {"site_code": "HT-PH-1", "operator_code": "VTL", "lat": 18.34,
                                               "lon": 105.9, "status": "operating"},
                                 photos=PhotoEdits(add=[make_jpeg(tmp_path / "b.jpg", (300, 300))]))
    assert _operations(db) == ops + 1
    assert [p.original_name for p in photos.list_photos(db, "sites", result.uuid)] == ["b.jpg"]


def test_a_removed_photo_is_a_tombstone_in_the_save_and_nothing_changed_logs_nothing(db, tmp_path):
    site = _site(db)
    photos.attach_photo(db, "sites", site, make_jpeg(tmp_path / "c.jpg", (300, 200)))
    (photo,) = photos.list_photos(db, "sites", site)
    values = editing.read_values(db, "sites", site)
    ops = _operations(db)
    assert not editing.save_record(db, "sites", values, uuid=site, base=values, photos=PhotoEdits()).changed
    assert _operations(db) == ops
    result = editing.save_record(db, "sites", values, uuid=site, base=values,
                                 photos=PhotoEdits(remove=[photo.uuid]))
    assert _operations(db) == ops + 1 and _logged_tables(db, result.operation_id) == {"photos"}
    assert photos.list_photos(db, "sites", site) == [] and photo.path.is_file()  # the file stays for undo


def test_a_refused_photo_writes_nothing(db, tmp_path):
    site = _site(db)
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_text("hello")
    before = editing.read_values(db, "sites", site)
    ops, files = _operations(db), _files(db)
    with pytest.raises(photos.PhotoError, match="not-a-photo.jpg"):
        editing.save_record(db, "sites", {"note": "x"}, uuid=site,
                            photos=PhotoEdits(add=[make_jpeg(tmp_path / "d.jpg", (200, 200)), bad]))
    assert _operations(db) == ops and _files(db) == files
    assert editing.read_values(db, "sites", site)["note"] == before["note"]
    assert photos.list_photos(db, "sites", site) == []


def test_a_photo_of_another_record_cannot_be_removed_from_this_form(db, tmp_path):
    site = _site(db)
    with db.session() as s:
        other = s.execute(text("SELECT uuid FROM sites WHERE deleted = 0 AND uuid != :u LIMIT 1"),
                          {"u": site}).scalar()
    photos.attach_photo(db, "sites", other, make_jpeg(tmp_path / "e.jpg", (200, 200)))
    (photo,) = photos.list_photos(db, "sites", other)
    with pytest.raises(Exception, match="another record"):
        editing.save_record(db, "sites", {"note": "y"}, uuid=site, photos=PhotoEdits(remove=[photo.uuid]))
    assert [p.uuid for p in photos.list_photos(db, "sites", other)] == [photo.uuid]


def test_a_wrong_value_typed_over_a_stored_one_is_refused_not_blanked(db):
    site = _site(db)
    values = editing.read_values(db, "sites", site)
    ops = _operations(db)
    with pytest.raises(editing.ValidationFailed) as refused:
        editing.save_record(db, "sites", values | {"height_m": "350"}, uuid=site, base=values)
    assert [k for k, _m in refused.value.problems] == ["height_m"]
    assert editing.read_values(db, "sites", site)["height_m"] == values["height_m"] and _operations(db) == ops
