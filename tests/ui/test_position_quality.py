"""Issue 20: how good a position is (accuracy, HDOP, source of its GPS fix) is said under the
position in the form once "Lấy vị trí GPS" is pressed, after saving in the identify panel, and a
position moved by hand says it has no GPS figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hatang_desktop.core import gps
from hatang_desktop.ui.editing.position_quality import quality_rows, summary
from hatang_desktop.ui.strings import format_number, tr

from . import walk

WALK = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"


@pytest.fixture(scope="module")
def fix():
    return list(gps.read_log(WALK, parser=gps.NmeaParser("nmea-log:walk_ha_tinh.nmea")))[-1]


def _a_site(db):
    with db.session() as s:
        return s.execute(text("SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                              "ORDER BY id LIMIT 1 OFFSET 5")).one()


def _find(window, code):
    walk.clear_text(window.search_box)
    walk.search_and_go(window, code)


def _open_with_f2(window, code, lon, lat, act):
    _find(window, code)
    walk.click_map(window, lon, lat)
    waiting = walk.when_modal(act)
    walk.press(window, "F2")
    return waiting.done()


def test_the_form_and_the_identify_panel_say_how_good_the_gps_position_is(window, fix):
    walk.activate(window)
    uuid, code, lon, lat = _a_site(window.db)
    window.gps_panel.feed(fix)  # the receiver in the dock has a good fix
    accuracy = format_number(fix.metadata()["gnss_accuracy_m"], 1)
    hdop = format_number(fix.hdop, 2)

    def take_gps_and_save(d):
        quality = d.form_widget.position_quality
        assert quality.isVisible() and quality.text() == tr("pq_form_no_gps")  # the sample's points: placed
        walk.click(walk.button(d, tr("form_use_gps")))
        shown = quality.text()
        assert f"± {accuracy} m" in shown and f"HDOP {hdop}" in shown and "nmea-log:walk_ha_tinh.nmea" in shown
        assert f"{fix.satellites} vệ tinh" in shown
        # The read-only GPS fields of the form are filled at once as well.
        assert d.form_widget.fields["gnss_source"].value() == "nmea-log:walk_ha_tinh.nmea"
        walk.click(walk.button(d, tr("form_save")))
        assert not d.isVisible()

    _open_with_f2(window, code, lon, lat, take_gps_and_save)

    # The site is now where the fix was: found there, the panel says the same figures.
    _find(window, code)
    panel = window.identify_panel.view.toPlainText()
    assert f"± {accuracy}" in panel and hdop in panel and "nmea-log:walk_ha_tinh.nmea" in panel
    assert "(giờ VN)" in panel  # the fix's time, as the dock shows it

    def move_by_hand(d):
        quality = d.form_widget.position_quality
        assert f"± {accuracy} m" in quality.text()  # the stored figures, when the form opens
        walk.type_into(d.form_widget.fields["position"].lat, "1")
        assert quality.text() == tr("pq_form_no_gps")
        walk.click(walk.button(d, tr("form_cancel")))

    _open_with_f2(window, code, fix.lon, fix.lat, move_by_hand)


def test_rows_and_summary_from_the_stored_columns():
    meta = {"gnss_accuracy_m": 12.34, "gnss_hdop": 2.5, "gnss_satellites": 5, "gnss_source": "serial:COM3",
            "gnss_fix_time": "2025-03-14T01:32:19Z", "gnss_fix_count": 10}
    rows = dict(quality_rows("poles", meta))
    assert rows["Độ chính xác GPS (m)"] == "± 12,3" and rows["HDOP"] == "2,50"
    assert rows["Nguồn GPS"] == "serial:COM3" and rows["Số lần đo GPS lấy trung bình"] == "10"
    assert rows["Thời điểm định vị GPS (UTC)"].startswith("14/03/2025 08:32:19 (giờ VN)")
    assert summary(meta) == "Vị trí GPS: ± 12,3 m · HDOP 2,50 · 5 vệ tinh · trung bình 10 lần đo · serial:COM3"
    assert summary({"gnss_accuracy_m": None}) is None
    assert quality_rows("findings", {}) == [("Độ chính xác GPS (m)", tr("pq_no_gps"))]
