"""The GPS dock replaying the shipped NMEA walk (values shown, gate, averaging) and the photo strip
(missing photo shown as missing, drop to attach, bad file refused, remove, pending files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from hatang_desktop.core import editing, gps, photos
from hatang_desktop.core.model import Site
from hatang_desktop.ui.gps_panel import GpsPanel
from hatang_desktop.ui.photo_list import THUMB_PX, PhotoList, placeholder
from hatang_desktop.ui.strings import format_number

WALK = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"


@pytest.fixture(scope="module")
def walk():
    parser = gps.NmeaParser("nmea-log:walk_ha_tinh.nmea")
    return list(gps.read_log(WALK, parser=parser)), parser.stats


@pytest.fixture
def panel(qtbot):
    p = GpsPanel()
    qtbot.addWidget(p)
    p.resize(360, 640)
    p.show()
    yield p
    p.stop()


def test_panel_replaying_the_log_shows_the_last_fix_and_uses_it(panel, qtbot, walk):
    fixes, stats = walk
    panel.start_log(WALK)
    qtbot.waitUntil(lambda: not panel.is_running() and panel.current_fix is not None
                    and panel.start_button.isEnabled(), timeout=10000)
    last = fixes[-1]
    assert panel.current_fix == last
    assert panel.satellites_label.text() == f"{last.satellites} đang dùng / {last.satellites_in_view} nhìn thấy"
    assert panel.hdop_label.text() == format_number(last.hdop, 2)
    assert panel.accuracy_label.text() == f"± {format_number(last.accuracy_m, 1)} m (máy thu đo)"
    assert f"{last.lat:.6f}, {last.lon:.6f}" in panel.position_label.text()
    assert panel.quality_label.text() == "GPS (3D)"
    assert panel.time_label.text().startswith("14/03/2025 08:32:19 (giờ VN)")
    assert panel.bad_lines_label.text() == str(stats.corrupt)
    assert "140 lần đo" in panel.message.text()
    with qtbot.waitSignal(panel.position_accepted) as got:
        assert panel.use_position() is True
    lat, lon, meta = got.args
    assert (lat, lon) == (last.lat, last.lon) and meta == last.metadata()
    assert set(meta) == set(gps.GNSS_COLUMNS)


def test_use_position_is_refused_for_a_poor_or_missing_fix(panel, qtbot, walk):
    fixes, _ = walk
    poor = next(f for f in fixes if f.has_position and f.accuracy_m > 10)
    panel.feed(poor)
    assert "máy thu đo" in panel.accuracy_label.text()
    with qtbot.assertNotEmitted(panel.position_accepted), qtbot.waitSignal(panel.position_refused) as refused:
        assert panel.use_position() is False
    shown = format_number(poor.accuracy_m, 1)
    assert f"Độ chính xác GPS {shown} m" in panel.message.text() and "kém hơn ngưỡng 10,0 m" in panel.message.text()
    assert refused.args[0] == panel.message.text() and " / " not in panel.message.text()  # Vietnamese only
    panel.feed(fixes[0])  # cold start: no fix at all
    assert panel.quality_label.text() == "Không định vị được" and panel.position_label.text() == "–"
    with qtbot.assertNotEmitted(panel.position_accepted):
        assert panel.use_position() is False
    assert "chưa định vị được" in panel.message.text()
    # The threshold is the user's: loosened, the same poor fix is taken.
    panel.feed(poor)
    panel.max_accuracy_m = 25.0
    with qtbot.waitSignal(panel.position_accepted):
        assert panel.use_position() is True


def test_averaging_takes_n_good_fixes(panel, qtbot, walk):
    fixes, _ = walk
    panel.average_spin.setValue(5)
    panel.average_button.click()
    assert panel.averaging and not panel.average_button.isEnabled()
    accepted = []
    panel.position_accepted.connect(lambda lat, lon, meta: accepted.append((lat, lon, meta)))
    for fix in fixes[:8]:
        panel.feed(fix)
    assert not accepted and "2/5" in panel.message.text() and "bỏ qua 6" in panel.message.text()
    for fix in fixes[8:20]:
        panel.feed(fix)
    assert len(accepted) == 1 and not panel.averaging
    lat, lon, meta = accepted[0]
    expected = gps.average(fixes[6:11])
    assert (lat, lon) == (expected.lat, expected.lon) and meta["gnss_fix_count"] == 5
    assert "trung bình 5 lần đo" in panel.message.text()


def test_a_missing_log_is_reported_in_the_dock(panel, qtbot, tmp_path):
    panel.start_log(tmp_path / "khong_co.nmea")
    qtbot.waitUntil(lambda: "không tìm thấy tệp nhật ký NMEA" in panel.message.text(), timeout=5000)
    with qtbot.assertNotEmitted(panel.position_accepted):
        assert panel.use_position() is False


# -- photo strip ---------------------------------------------------------------------------

def _jpeg(path: Path, colour: str, size=(640, 480)) -> Path:
    Image.new("RGB", size, colour).save(path, "JPEG")
    return path


@pytest.fixture
def site(empty_db):
    with empty_db.operation("add site") as s:
        site = Site(operator_code="VTL", site_code="HTH001", name="Trạm Thạch Hà", lat=18.35, lon=105.9)
        s.add(site)
        s.flush()
        return site.uuid


@pytest.fixture
def strip(qtbot):
    w = PhotoList()
    qtbot.addWidget(w)
    w.resize(520, 220)
    w.show()
    return w


def test_missing_photo_is_shown_as_missing(strip, empty_db, site, tmp_path):
    kept = photos.attach_photo(empty_db, "sites", site, _jpeg(tmp_path / "cot_1.jpg", "#2a7"))
    lost = photos.attach_photo(empty_db, "sites", site, _jpeg(tmp_path / "cot_2.jpg", "#a27"))
    lost.path.unlink()
    strip.set_record(empty_db, "sites", site)
    entries = strip.entries()
    assert [e.uuid for e in entries] == [kept.uuid, lost.uuid]
    assert [e.status for e in entries] == [photos.PRESENT, photos.MISSING]
    missing_item = strip.strip.item(1)
    assert missing_item.toolTip() == f"Không tìm thấy tệp {lost.path}"
    expected = placeholder(THUMB_PX, "thiếu ảnh").toImage()
    assert missing_item.icon().pixmap(THUMB_PX, THUMB_PX).toImage() == expected
    present_icon = strip.strip.item(0).icon().pixmap(THUMB_PX, THUMB_PX).toImage()
    assert present_icon != expected
    centre = present_icon.pixelColor(THUMB_PX // 2, THUMB_PX // 2)
    assert (centre.red(), centre.green(), centre.blue()) == pytest.approx((0x22, 0xaa, 0x77), abs=12)
    assert strip.title.text() == "Ảnh (2)"
    strip.strip.setCurrentRow(1)
    assert strip.open_selected() is None and "Không tìm thấy tệp" in strip.message.text()


def _drop(widget, files):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)
    return event


def test_drop_adds_images_for_the_save_and_names_the_file_it_refuses(strip, empty_db, site, tmp_path, qtbot):
    good = _jpeg(tmp_path / "tram.jpg", "#246", size=(3000, 2000))
    bad = tmp_path / "bien_ban.jpg"
    bad.write_text("không phải ảnh", encoding="utf-8")
    strip.set_record(empty_db, "sites", site)
    with qtbot.waitSignal(strip.photos_changed), qtbot.waitSignal(strip.error) as err:
        _drop(strip, [good, bad])
    assert "bien_ban.jpg" in err.args[0] and "không phải tệp ảnh" in err.args[0]
    assert strip.message.isVisible() and "bien_ban.jpg" in strip.message.text()
    # Waiting for the form's save: shown, not written.
    assert strip.entries() == [good] and "chưa lưu" in strip.strip.item(0).text()
    assert photos.list_photos(empty_db, "sites", site) == []
    editing.save_record(empty_db, "sites", {}, uuid=site, photos=strip.edits())
    strip.saved(site)
    saved = photos.list_photos(empty_db, "sites", site)
    assert [p.original_name for p in saved] == ["tram.jpg"] and max(saved[0].width, saved[0].height) == 2048
    assert [e.uuid for e in strip.entries()] == [saved[0].uuid] and not strip.edits()
    strip.strip.setCurrentRow(0)
    opened = []
    strip.open_url = opened.append
    assert strip.open_selected() == saved[0].path and opened[0].toLocalFile() == str(saved[0].path)
    assert strip.remove_selected(confirm=False) == 1
    assert strip.entries() == [] and [p.uuid for p in photos.list_photos(empty_db, "sites", site)] == [saved[0].uuid]
    editing.save_record(empty_db, "sites", {}, uuid=site, photos=strip.edits())
    assert [p.deleted for p in photos.list_photos(empty_db, "sites", site, include_deleted=True)] == [True]


def test_new_record_keeps_photos_pending_until_saved(strip, empty_db, tmp_path):
    strip.set_record(empty_db, "sites", None)
    a = _jpeg(tmp_path / "a.jpg", "#840")
    assert strip.add_files([a]) == []
    assert strip.add_files([a]) == ["a.jpg: tệp này đã được thêm"]
    assert strip.pending_files() == [a] and strip.entries() == [a]
    assert "chưa lưu" in strip.strip.item(0).text()
    result = editing.save_record(empty_db, "sites", {"operator_code": "MBF", "site_code": "HTH002", "lat": 18.36,
                                                     "lon": 105.91}, photos=strip.edits())
    strip.saved(result.uuid)
    assert [p.original_name for p in photos.list_photos(empty_db, "sites", result.uuid)] == ["a.jpg"]
    assert strip.pending_files() == [] and strip.entries()[0].status == photos.PRESENT


def test_gps_dock_is_in_the_view_menu(window):
    view = next(a.menu() for a in window.menuBar().actions() if a.menu() and a.text() == "&Xem")
    toggles = [a for a in view.actions() if a.text() == "Định vị GPS"]
    assert len(toggles) == 1 and not window.gps_panel.isVisible()
    toggles[0].trigger()
    assert window.gps_panel.isVisible()
