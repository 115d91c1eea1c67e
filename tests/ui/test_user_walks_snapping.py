"""Snapping walked as a user walks it: the route tool by its key, clicks a few pixels off the
poles, Enter, the form filled through its widgets, Lưu; a site dragged next to a pole, with and
without Ctrl; Bắt điểm turned off from the toolbar. An exception in a slot fails the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from sqlalchemy import text

from hatang_desktop.core import editing
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.ui.editing.snapping import SNAP_SETTING, TOLERANCE_PX
from hatang_desktop.ui.settings import app_settings
from hatang_desktop.ui.strings import tr

from . import walk
from .test_user_walks_editing import press_save, tool_on

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
CTRL = Qt.KeyboardModifier.ControlModifier


def rows(db, sql, **params):
    with db.session() as s:
        return s.execute(text(sql), params).all()


def xy(lon, lat):
    x, y = lonlat_to_mercator(lon, lat)
    return float(x), float(y)


def live_links(db):
    return rows(db, "SELECT l.route_uuid, l.seq, l.pole_uuid FROM fibre_route_poles l JOIN fibre_routes t "
                    "ON t.uuid = l.route_uuid WHERE t.deleted = 0 ORDER BY l.route_uuid, l.seq")


def drawn(window, key):
    data = window.canvas.layers[key].data
    return np.column_stack([data.x, data.y])


def alone(window, lon, lat, metres):
    """The only pole on its spot, and nothing else the map holds within `metres` of it (the
    vertex of a route hanging on a pole stands on it: that is the pole's spot, not a neighbour)."""
    x, y = xy(lon, lat)
    poles = np.hypot(*(drawn(window, "poles") - (x, y)).T)
    others = np.hypot(*(np.concatenate([drawn(window, "sites"), drawn(window, "routes")]) - (x, y)).T)
    return np.count_nonzero(poles <= metres) <= 1 and np.count_nonzero((others <= metres) & (others > 0.01)) == 0


def off_by(window, lon, lat, dx, dy):
    """The place `dx`, `dy` viewport pixels from (lon, lat): where a hand lands near a pole."""
    return walk.pixel_lonlat(window, walk.map_pixel(window, lon, lat) + QPoint(dx, dy))


def three_poles_in_view(window):
    """Three live poles, each with nothing else within 28 m, close together; the map zoomed to
    the first by searching its code."""
    db = window.db
    for uuid, code, lon, lat in rows(db, "SELECT uuid, code, lon, lat FROM poles p WHERE deleted = 0 ORDER BY id"):
        if not alone(window, lon, lat, 28):
            continue
        near = [p for p in rows(db, "SELECT uuid, code, lon, lat FROM poles WHERE deleted = 0 AND uuid <> :u AND "
                                    "abs(lon - :lon) BETWEEN 0.0004 AND 0.0035 AND abs(lat - :lat) < 0.003 "
                                    "ORDER BY id", u=uuid, lon=lon, lat=lat)
                if alone(window, p[2], p[3], 28)]
        if len(near) >= 2:
            walk.search_and_go(window, code)
            assert window.identify_panel.feature.uuid == uuid
            return [(uuid, code, lon, lat)] + near[:2]
    raise AssertionError("no three lonely poles close together in the sample")


def test_a_route_drawn_near_three_poles_goes_through_them_and_records_them(user_window):
    window, editor = user_window, user_window.editor
    db = window.db
    (pa, ca, lona, lata), (pb, cb, lonb, latb), (pc, cc, lonc, latc) = three_poles_in_view(window)
    links_before = live_links(db)
    ops_before = rows(db, "SELECT count(*) FROM operations")[0][0]

    walk.press(window, "Ctrl+3")
    tool_on(window, "draw_route")
    # The pointer resting 5 px off a pole: the ring and its code show where a click goes.
    walk.hover_map(window, walk.map_pixel(window, lona, lata) + QPoint(5, -4))
    assert editor.snapper.ring.isVisible() and editor.snapper.target.uuid == pa
    assert editor.snapper.label.toPlainText() == ca
    # Ctrl held: no ring.
    walk.hover_map(window, walk.map_pixel(window, lona, lata) + QPoint(5, -4), CTRL)
    assert not editor.snapper.ring.isVisible()

    walk.click_map(window, *off_by(window, lonb, latb, 4, 3))  # B first: the list follows the line
    walk.click_map(window, *off_by(window, lona, lata, -5, 2))
    # A vertex between A and C, placed with Ctrl held next to C: exactly where clicked, no pole.
    free = off_by(window, lonc, latc, 6, -5)
    walk.click_map(window, *free, modifiers=CTRL)
    walk.click_map(window, *off_by(window, lonc, latc, -3, -4))
    assert "4 đỉnh" in window.message_label.text()

    def fill(d):
        f = d.form_widget.fields
        walk.type_into(f["code"].edit, "TC-BAT-01")
        walk.choose(f["operator_code"].combo, "VNPT")
        walk.choose(f["method"].combo, "aerial")
        press_save(d)

    waiting = walk.when_modal(fill)
    walk.press(window, "Return")
    waiting.done()

    uuid = rows(db, "SELECT uuid FROM fibre_routes WHERE code = 'TC-BAT-01' AND deleted = 0")[0][0]
    got = editing.route_vertices(db, uuid)
    assert len(got) == 4
    # Through the poles exactly (to the 7 decimals a line is stored with).
    for vertex, (lon, lat) in zip((got[0], got[1], got[3]), ((lonb, latb), (lona, lata), (lonc, latc))):
        assert vertex == pytest.approx((lon, lat), abs=1e-7)
    (x0, y0), (x1, y1) = xy(*got[2]), xy(*free)
    assert math.hypot(x1 - x0, y1 - y0) <= walk.metres_per_pixel(window)  # Ctrl: no snap
    assert rows(db, "SELECT seq, pole_uuid FROM fibre_route_poles WHERE route_uuid = :r ORDER BY seq", r=uuid) == [
        (0, pb), (1, pa), (2, pc)]
    assert rows(db, "SELECT count(*) FROM operations")[0][0] == ops_before + 1
    assert editor.stack.count() == 1
    # The identify panel names them.
    assert window.identify_panel.feature.uuid == uuid
    assert tr("identify_route_poles_value", n=3, codes=f"{cb}, {ca}, {cc}") in window.identify_panel.view.toPlainText()

    walk.press(window, "Ctrl+Z")
    assert live_links(db) == links_before
    walk.press(window, "Ctrl+Y")
    assert rows(db, "SELECT pole_uuid FROM fibre_route_poles WHERE route_uuid = :r ORDER BY seq", r=uuid) == [
        (pb,), (pa,), (pc,)]


def test_a_site_dragged_next_to_a_pole_lands_on_it_unless_ctrl_is_held(user_window):
    window, editor = user_window, user_window.editor
    db = window.db
    for suuid, scode, slon, slat in rows(db, "SELECT uuid, site_code, lon, lat FROM sites WHERE deleted = 0 "
                                             "ORDER BY id"):
        near = rows(db, "SELECT uuid, code, lon, lat FROM poles WHERE deleted = 0 AND abs(lon - :lon) < 0.002 "
                        "AND abs(lat - :lat) < 0.002 AND abs(lon - :lon) + abs(lat - :lat) > 0.0005 ORDER BY id",
                    lon=slon, lat=slat)
        pick = next((p for p in near if alone(window, p[2], p[3], 30)), None)
        if pick is not None and alone(window, slon, slat, 30):
            break
    else:
        raise AssertionError("no site with a lonely pole near it")
    walk.search_and_go(window, scode)
    puuid, pcode, plon, plat = pick
    walk.click_map(window, slon, slat)
    walk.press(window, "M")
    tool_on(window, "move")
    walk.click_map(window, slon, slat)
    assert len(editor.sketch.handles) == 1

    walk.drag_map(window, (slon, slat), off_by(window, plon, plat, 5, 4))
    moved = editing.read_values(db, "sites", suuid)
    assert (moved["lon"], moved["lat"]) == pytest.approx((plon, plat), abs=1e-9)
    assert not editor.snapper.ring.isVisible()  # gone with the drop

    walk.press(window, "Ctrl+Z")
    back = editing.read_values(db, "sites", suuid)
    assert (back["lon"], back["lat"]) == (slon, slat)

    drop = off_by(window, plon, plat, 5, 4)
    walk.drag_map(window, (slon, slat), drop, modifiers=CTRL)
    held = editing.read_values(db, "sites", suuid)
    (x0, y0), (x1, y1) = xy(held["lon"], held["lat"]), xy(*drop)
    assert math.hypot(x1 - x0, y1 - y0) <= 1.5 * walk.metres_per_pixel(window)
    (x2, y2) = xy(plon, plat)
    assert math.hypot(x2 - x0, y2 - y0) > 3 * walk.metres_per_pixel(window)
    # The site is a target where it is now (the map patched its arrays in place).
    walk.press(window, "Ctrl+3")
    walk.hover_map(window, walk.map_pixel(window, held["lon"], held["lat"]) + QPoint(6, 5))
    assert editor.snapper.target is not None and editor.snapper.target.uuid == suuid


def test_snapping_turned_off_from_the_toolbar_stays_off(user_window):
    window, editor = user_window, user_window.editor
    poles = three_poles_in_view(window)
    _, code, lon, lat = poles[0]
    button = walk.button(editor.toolbar, tr("edit_snapping_short"))
    assert editor.act_snap.isChecked()
    walk.click(button)
    assert not editor.act_snap.isChecked() and not editor.snapper.enabled
    assert str(app_settings().value(SNAP_SETTING)).lower() == "false"
    walk.press(window, "Ctrl+3")
    near = walk.map_pixel(window, lon, lat) + QPoint(5, -4)
    walk.hover_map(window, near)
    assert not editor.snapper.ring.isVisible()
    walk.click_map(window, *walk.pixel_lonlat(window, near))
    (x, y), (px, py) = editor.route_points[0], xy(lon, lat)
    assert math.hypot(x - px, y - py) >= 4 * walk.metres_per_pixel(window)  # where the hand was
    assert TOLERANCE_PX > 6
    walk.click(button)
    assert editor.snapper.enabled and str(app_settings().value(SNAP_SETTING)).lower() == "true"


@pytest.fixture
def user_window(window):
    walk.activate(window)
    assert not window.db.readonly and window.editor.stack.count() == 0
    return window


def test_no_snapping_zoomed_out_beyond_the_poles_scale(user_window):
    """At province scale 12 px are kilometres: a click means the place clicked."""
    window, editor = user_window, user_window.editor
    _, _, lon, lat = three_poles_in_view(window)[0]
    walk.press(window, "Ctrl+3")
    near = walk.map_pixel(window, lon, lat) + QPoint(5, -4)
    walk.hover_map(window, near)
    assert editor.snapper.ring.isVisible()
    while walk.metres_per_pixel(window) <= 40:
        walk.press(window, "-")
    walk.hover_map(window, walk.map_pixel(window, lon, lat) + QPoint(3, 3))
    assert not editor.snapper.ring.isVisible() and editor.snapper.target is None
