"""Issue 21, "where am I" and "going back to a feature", as an inspector uses them: the averaged
GPS position taken from the open form and saved with its real fix count, averaging stopped when
the receiver moves, the position on the map with follow me, and Đi tới's distance and bearing.

Fixes come from the shipped walk (tests/data/walk_ha_tinh.nmea) replayed through the GPS dock's
log source: epochs 1-6 no fix, 7-26 standing at P1, 27-86 walking east-north-east, ..."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
from pyproj import Geod
from PySide6.QtCore import QPointF
from sqlalchemy import text

from hatang_desktop.core import gps, navigation
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.ui.map.overlays import format_distance
from hatang_desktop.ui.preferences import Preferences
from hatang_desktop.ui.strings import tr

from . import walk

WALK = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"
PACE = 10.0  # the walk replayed ten times faster than it was walked: 0.1 s an epoch
# Where the mean is compared with the first good fixes, the button must be pressed before the
# cold start's six epochs have passed: at 5x that leaves 1.2 s, on a loaded machine too.
PACE_STANDING = 5.0


@pytest.fixture(scope="module")
def fixes():
    return list(gps.read_log(WALK, parser=gps.NmeaParser("nmea-log:walk_ha_tinh.nmea")))


def _a_site(db):
    with db.session() as s:
        return s.execute(text("SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                              "ORDER BY id LIMIT 1 OFFSET 7")).one()


def _open_with_f2(window, code, lon, lat, act):
    walk.clear_text(window.search_box)
    walk.search_and_go(window, code)
    walk.click_map(window, lon, lat)
    waiting = walk.when_modal(act)
    walk.press(window, "F2")
    return waiting.done()


def _set_average_n(window, n: int) -> None:
    """Xem > Định vị GPS, then the number of fixes typed into the dock."""
    panel = window.gps_panel
    if not panel.isVisible():
        panel.toggleViewAction().trigger()
        walk.settle(30)
    walk.clear_text(panel.average_spin)
    walk.type_into(panel.average_spin, str(n))
    walk.press(panel.average_spin, "Tab")


def _number(text_value: str) -> float:
    return float(text_value.replace(",", "."))


def test_averaging_from_the_open_form_saves_the_mean_and_the_real_fix_count(window, qtbot, fixes):
    walk.activate(window)
    uuid, code, lon, lat = _a_site(window.db)
    _set_average_n(window, 8)
    mean = _mean_of_first(fixes, 8)
    panel = window.gps_panel

    def average_and_save(d):
        button = walk.button(d, "Lấy trung bình (8)")  # the dock's N, on the form's button
        panel.start_log(WALK, pace=True, speed=PACE_STANDING)  # the receiver is on while the form is open
        walk.click(button)
        assert d.gps_averaging.running and button.text() == tr("form_gps_average_stop")
        qtbot.waitUntil(lambda: "Đang lấy trung bình: 3/8" in d.gps_averaging.status.text()
                        or not d.gps_averaging.running, timeout=10000)
        qtbot.waitUntil(lambda: not d.gps_averaging.running, timeout=15000)
        fields = d.form_widget.fields
        got_lat, got_lon = (_number(t) for t in fields["position"].value())
        assert got_lat == pytest.approx(mean.lat, abs=1e-7) and got_lon == pytest.approx(mean.lon, abs=1e-7)
        assert fields["gnss_fix_count"].value() == "8"  # as the form shows it
        assert _number(fields["gnss_accuracy_m"].value()) == pytest.approx(round(mean.accuracy_m, 2))
        assert "trung bình 8 lần đo" in d.form_widget.position_quality.text()
        assert d.gps_averaging.status.text().startswith("Đã dùng vị trí trung bình 8 lần đo")
        assert button.text() == "Lấy trung bình (8)"
        walk.click(walk.button(d, tr("form_save")))
        assert not d.isVisible()

    _open_with_f2(window, code, lon, lat, average_and_save)
    panel.stop()
    with window.db.session() as s:
        row = s.execute(text("SELECT lat, lon, gnss_fix_count, gnss_accuracy_m, gnss_source FROM sites "
                             "WHERE uuid = :u"), {"u": uuid}).one()
    assert row.gnss_fix_count == 8 and row.gnss_source == "nmea-log:walk_ha_tinh.nmea"
    assert row.lat == pytest.approx(mean.lat, abs=1e-7) and row.lon == pytest.approx(mean.lon, abs=1e-7)
    assert row.gnss_accuracy_m == pytest.approx(mean.accuracy_m, abs=0.01)


def test_a_pole_added_with_the_tool_takes_the_averaged_position(window, qtbot, fixes):
    walk.activate(window)
    _uuid, code, lon, lat = _a_site(window.db)
    walk.search_and_go(window, code)
    _set_average_n(window, 5)
    mean = _mean_of_first(fixes, 5)
    panel = window.gps_panel
    walk.activate(window)
    walk.press(window, "Ctrl+2")  # + Cột
    assert window.editor.tool_actions["add_poles"].isChecked()

    def fill_pole(d):
        f = d.form_widget.fields
        walk.type_into(f["code"].edit, "C-GPS-05")
        walk.choose(f["owner_kind"].combo, "operator")
        walk.choose(f["owner_operator_code"].combo, "VNPT")
        panel.start_log(WALK, pace=True, speed=PACE_STANDING)
        walk.click(walk.button(d, "Lấy trung bình (5)"))
        qtbot.waitUntil(lambda: not d.gps_averaging.running, timeout=15000)
        assert f["gnss_fix_count"].value() == "5"
        walk.click(walk.button(d, tr("form_save")))
        assert not d.isVisible()

    waiting = walk.when_modal(fill_pole)
    walk.click_map(window, lon - 0.0015, lat + 0.001)
    waiting.done()
    panel.stop()
    with window.db.session() as s:
        row = s.execute(text("SELECT lat, lon, gnss_fix_count FROM poles WHERE code = 'C-GPS-05' "
                             "AND deleted = 0")).one()
    assert row.gnss_fix_count == 5
    assert (row.lat, row.lon) == (pytest.approx(mean.lat, abs=1e-7), pytest.approx(mean.lon, abs=1e-7))


def _mean_of_first(fixes, n: int) -> gps.AveragedFix:
    """The mean of the first n fixes the dock's gate lets through."""
    averager = gps.Averager(n)
    return next(r for r in (averager.add(f) for f in fixes) if r is not None)


def test_averaging_stops_with_a_warning_when_the_receiver_moves(window, qtbot):
    walk.activate(window)
    uuid, code, lon, lat = _a_site(window.db)
    _set_average_n(window, 40)  # more than the 20 fixes of standing: the walk starts meanwhile
    panel = window.gps_panel

    def average_while_walking(d):
        before = d.form_widget.fields["position"].value()
        panel.start_log(WALK, pace=True, speed=PACE)
        walk.click(walk.button(d, "Lấy trung bình (40)"))
        qtbot.waitUntil(lambda: not d.gps_averaging.running, timeout=15000)
        warning = d.gps_averaging.status.text()
        assert warning.startswith("Máy thu đang di chuyển: các lần đo lệch nhau tới ")
        assert "vượt ngưỡng 10,0 m" in warning and "Đã dừng lấy trung bình" in warning
        assert d.gps_averaging.status.isVisible()
        assert d.form_widget.fields["position"].value() == before and d.form_widget.gnss() is None
        assert not panel.averaging and panel.message.text() == warning  # the dock says the same
        walk.settle(400)  # more fixes arrive: the warning stays until the user acts
        assert panel.message.text() == warning
        walk.click(walk.button(d, tr("form_cancel")))

    _open_with_f2(window, code, lon, lat, average_while_walking)
    panel.stop()
    with window.db.session() as s:
        assert s.execute(text("SELECT gnss_fix_count FROM sites WHERE uuid = :u"), {"u": uuid}).scalar() is None


def test_averaging_ends_with_a_message_when_the_source_stops_first(window, qtbot):
    walk.activate(window)
    uuid, code, lon, lat = _a_site(window.db)
    _set_average_n(window, 300)  # more fixes than the walk has
    panel = window.gps_panel
    walk.clear_text(panel.threshold_spin)
    walk.type_into(panel.threshold_spin, "100")  # loose enough that the whole walk is "standing"
    walk.press(panel.threshold_spin, "Tab")

    def average_past_the_end(d):
        panel.start_log(WALK, pace=True, speed=40)
        walk.click(walk.button(d, "Lấy trung bình (300)"))
        qtbot.waitUntil(lambda: not d.gps_averaging.running, timeout=15000)
        said = d.gps_averaging.status.text()
        assert said.startswith("Nguồn GPS đã dừng khi mới có ") and "/300 lần đo" in said
        assert d.form_widget.gnss() is None and walk.button(d, "Lấy trung bình (300)").isEnabled()
        walk.click(walk.button(d, tr("form_cancel")))

    _open_with_f2(window, code, lon, lat, average_past_the_end)


def _centre(window) -> tuple[float, float]:
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    return (x0 + x1) / 2, (y0 + y1) / 2


def _inside(window, x: float, y: float) -> bool:
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    return x0 <= x <= x1 and y0 <= y <= y1


def test_the_position_is_drawn_and_follow_me_keeps_it_in_view_until_the_map_is_dragged(window, qtbot, fixes,
                                                                                      caplog):
    caplog.set_level(logging.ERROR)
    walk.activate(window)
    gps_map = window.gps_map
    p1 = lonlat_to_mercator(105.906, 18.3435)
    window.canvas.view.setRange(xRange=(p1[0] - 40, p1[0] + 40), yRange=(p1[1] - 40, p1[1] + 40), padding=0)
    walk.settle(30)
    start = _centre(window)
    walk.click(window.toolbar.widgetForAction(gps_map.act_follow))  # "Theo dõi vị trí" on the toolbar
    assert gps_map.following and gps_map.follow_check.isChecked()

    headings = []
    window.gps_panel.fix_changed.connect(lambda f: headings.append((f, gps_map.marker.heading)))
    window.gps_panel.start_log(WALK)
    assert window.gps_panel.wait_until_finished()
    qtbot.waitUntil(lambda: len(headings) == len(fixes), timeout=5000)
    marker = gps_map.marker
    last = fixes[-1]
    x, y = lonlat_to_mercator(last.lon, last.lat)
    assert marker.isVisible() and marker.position == pytest.approx((x, y))
    # The accuracy circle is the fix's accuracy in ground metres, in map metres at that latitude.
    assert marker.radius == pytest.approx(last.accuracy_m / math.cos(math.radians(last.lat)))
    # An arrow along the course while walking, none while standing (a still receiver's course is noise).
    walking = [(f, h) for f, h in headings if f.has_position and f.moving]
    standing = [(f, h) for f, h in headings if f.has_position and not f.moving]
    assert walking and standing
    assert all(h == f.course_deg for f, h in walking) and all(h is None for _f, h in standing)
    # The walk is longer than the view: the map followed it, and the dot is in the view's middle part.
    assert _centre(window) != start
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    assert x0 + 0.2 * (x1 - x0) <= x <= x1 - 0.2 * (x1 - x0) and y0 + 0.2 * (y1 - y0) <= y <= y1 - 0.2 * (y1 - y0)
    window.canvas.grab()  # drawn once, without an error logged from the paint code
    assert not [r for r in caplog.records if "GPS" in r.getMessage()]

    # The user drags the map away to look at something else: following stops, and says so.
    lon0, lat0 = last.lon, last.lat
    walk.drag_map(window, (lon0, lat0), (lon0 + 0.0002, lat0 + 0.0001))
    assert not gps_map.following and not gps_map.follow_check.isChecked()
    assert window.statusBar().currentMessage() == tr("gps_follow_stopped")
    dragged = _centre(window)
    window.gps_panel.start_log(WALK)  # the walk again: the dot moves, the map stays where the user put it
    assert window.gps_panel.wait_until_finished()
    walk.settle(50)
    assert _centre(window) == dragged
    # Switched on in the dock this time (Xem > Định vị GPS); remembered for the next start.
    window.gps_panel.toggleViewAction().trigger()
    walk.settle(30)
    walk.click(gps_map.follow_check)
    assert gps_map.act_follow.isChecked()
    assert Preferences.load().gps_follow is True


def test_go_to_shows_distance_and_bearing_live_and_keeps_both_in_view(window, qtbot, fixes):
    walk.activate(window)
    gps_map = window.gps_map
    uuid, code, lon, lat = _a_site(window.db)
    walk.clear_text(window.search_box)
    walk.search_and_go(window, code)
    identify = window.identify_panel
    assert identify.feature.uuid == uuid
    walk.click(identify.go_to_button)  # "Đi tới" in the identify panel
    box = gps_map.go_to_box
    assert window.gps_panel.isVisible() and box.isVisible()
    assert box.status_label.text() == tr("goto_waiting")  # no receiver yet
    assert code in box.target_label.text()

    geod = Geod(ellps="WGS84")
    seen = []

    lost = []

    def record(fix):
        if fix.has_position:
            seen.append((fix, box.status_label.text(), _inside(window, *lonlat_to_mercator(fix.lon, fix.lat))
                         and _inside(window, *lonlat_to_mercator(lon, lat))))
        else:
            lost.append((box.status_label.text(), gps_map.marker.dot.colour.name(), gps_map.marker.heading))

    window.gps_panel.fix_changed.connect(record)
    window.gps_panel.start_log(WALK)
    assert window.gps_panel.wait_until_finished()
    qtbot.waitUntil(lambda: len(seen) == sum(f.has_position for f in fixes), timeout=5000)
    for fix, shown, both_in_view in seen:
        azimuth, _back, metres = geod.inv(fix.lon, fix.lat, lon, lat)
        bearing = azimuth % 360
        assert shown == tr("goto_status", d=format_distance(metres), deg=round(bearing) % 360,
                           dir=navigation.compass_point(bearing)), shown
        assert both_in_view
    assert len({shown for _f, shown, _in in seen}) > 1  # updated as the walker moved
    # Epochs without a fix (the cold start, the lost stretch) say so; the last dot is greyed.
    assert len(lost) == sum(not f.has_position for f in fixes)
    assert {(text_, colour, heading) for text_, colour, heading in lost} == {(tr("goto_no_fix"), "#8a8a8a", None)}
    assert "Cách " in seen[-1][1] and "°" in seen[-1][1]

    # Ctrl+G on the map does the same for the identified feature; Dừng ends it.
    walk.click(box.stop_button)
    assert not box.isVisible() and gps_map.target is None and gps_map.marker.target is None
    window.canvas.setFocus()
    walk.press(window.canvas, "Ctrl+G")
    assert box.isVisible() and gps_map.target == pytest.approx((lon, lat))
    assert box.status_label.text() == seen[-1][1]  # the last fix, at once
    window.gps_panel.stop()


def test_go_to_asks_for_a_site_or_a_pole(window):
    walk.activate(window)
    window.identify_panel.clear()
    assert not window.identify_panel.go_to_button.isVisible()
    window.canvas.setFocus()
    walk.press(window.canvas, "Ctrl+G")
    assert window.statusBar().currentMessage() == tr("goto_pick_first")
    assert not window.gps_map.go_to_box.isVisible()


def test_the_marker_keeps_its_dot_in_pixels_and_its_circle_in_metres(qtbot):
    from hatang_desktop.ui.map.gps_marker import GpsMarker

    marker = GpsMarker()
    marker.show_fix(105.906, 18.3435, 4.0, 68.0, True)
    assert marker.boundingRect().width() == pytest.approx(2 * 4.0 / math.cos(math.radians(18.3435)) + 2)
    marker.set_target((105.91, 18.35))
    tx, ty = lonlat_to_mercator(105.91, 18.35)
    rect = marker.mapRectToScene(marker.boundingRect())
    assert rect.contains(QPointF(tx, ty))


def test_an_error_while_drawing_the_position_is_logged_not_fatal(window, caplog, fixes):
    # PySide6 6.11 ends the process on an exception escaping paint(): the marker catches it.
    caplog.set_level(logging.ERROR)
    marker = window.gps_map.marker
    good = fixes[-1]
    marker.show_fix(good.lon, good.lat, good.accuracy_m, None, True)
    window.canvas.view.setRange(xRange=(marker.position[0] - 50, marker.position[0] + 50),
                                yRange=(marker.position[1] - 50, marker.position[1] + 50), padding=0)
    marker.dot.heading = "north"  # not a number: rotate() raises inside paint
    window.canvas.grab()
    assert any(r.getMessage() == "drawing the GPS dot failed" for r in caplog.records)
    marker.dot.heading = 68.0
    caplog.clear()
    window.canvas.grab()
    assert not caplog.records
