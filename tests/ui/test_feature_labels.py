"""Issue 21: site codes, pole numbers and route codes written on the map at large scales, none
on top of another, none when zoomed out; a label check box per layer in the layer panel that
stays as the user left it after a restart."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtTest import QTest

from .walk import press, search_and_go, settle


def _placed(window):
    window.canvas.grab()  # a paint of the map as it is on screen
    return window.canvas.feature_labels.placed


def _assert_apart(placed) -> None:
    """No two label plates (turned along their route for route codes) overlap."""
    plates = [shapely.Polygon(p.corners()) for p in placed]
    for (a, pa), (b, pb) in itertools.combinations(zip(placed, plates), 2):
        assert pa.intersection(pb).area < 1e-6, f"{a.text} and {b.text} overlap"


def _click_labels_row(window, key: str) -> None:
    """Click the layer's "Nhãn (mã)" row in the layer panel and press Space: its box flips."""
    tree = window.layer_panel.tree
    row = window.layer_panel.label_rows[key]
    tree.scrollToItem(row)
    rect: QRect = tree.visualItemRect(row)
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    QTest.keyClick(tree.viewport(), Qt.Key.Key_Space)
    settle()


def _site_code(window) -> str:
    """The code of a site with a pole 15-80 m away (closer in, both get labels; a pole right
    under the site has no room beside it for its number)."""
    sites, poles = window.canvas.layers["sites"].data, window.canvas.layers["poles"].data
    near = np.array([np.hypot(poles.x - x, poles.y - y).min() for x, y in zip(sites.x, sites.y)])
    return str(sites.attrs["code"][int(np.flatnonzero((near > 15) & (near < 80))[0])])


def test_a_site_found_at_1_5000_shows_its_code_and_no_labels_overlap(window):
    code = _site_code(window)
    search_and_go(window, code)  # the map zooms to the site, about 1:5,400
    canvas = window.canvas
    assert canvas.scale_denominator() < 8000
    placed = _placed(window)
    assert code in [p.text for p in placed if p.key == "sites"]
    _assert_apart(placed)
    # Closer in, poles get their numbers too; still nothing overlaps.
    canvas.setFocus()
    press(canvas, "+")
    press(canvas, "+")
    closer = _placed(window)
    assert any(p.key == "poles" for p in closer)
    assert code in [p.text for p in closer]
    _assert_apart(closer)
    poles = canvas.layers["poles"].data.attrs["code"]
    assert {p.text for p in closer if p.key == "poles"} <= set(poles)

    for _ in range(4):  # zoomed out to the district: a grey smear of codes would help no one
        press(canvas, "-")
    assert canvas.metres_per_pixel() > 3
    assert _placed(window) == []
    press(canvas, "Ctrl+0")  # Toàn bộ
    assert _placed(window) == []


def test_a_route_zoomed_in_on_shows_its_code_along_it(window):
    canvas = window.canvas
    routes = canvas.layers["routes"].data
    # The route with the longest straight stretch (a code needs room along its line).
    seg = np.flatnonzero((routes.connect[:-1] == 1) & (np.diff(routes.vertex_feature) == 0))
    length = np.hypot(routes.x[seg + 1] - routes.x[seg], routes.y[seg + 1] - routes.y[seg])
    s = seg[np.argmax(length)]
    k = int(routes.vertex_feature[s])
    code = str(routes.attrs["code"][k])
    search_and_go(window, code)
    # Wheel-like zoom on that stretch's middle until codes are drawn.
    middle = QPointF(float(routes.x[s] + routes.x[s + 1]) / 2, float(routes.y[s] + routes.y[s + 1]) / 2)
    while canvas.metres_per_pixel() > 2.0:
        canvas.view.scaleBy((0.5, 0.5), center=middle)
        settle()
    placed = _placed(window)
    mine = [p for p in placed if p.key == "routes" and p.text == code]
    assert len(mine) == 1  # one label per route
    assert -90 < mine[0].angle <= 90  # upright
    _assert_apart(placed)


def test_labels_switched_off_in_the_layer_panel_stay_off_after_a_restart(qtbot, window, sample_db_path):
    from .test_findings_map import _new_window

    code = _site_code(window)
    search_and_go(window, code)
    assert any(p.key == "sites" for p in _placed(window))
    _click_labels_row(window, "sites")
    assert window.layer_panel.label_rows["sites"].checkState(0) == Qt.CheckState.Unchecked
    assert not any(p.key == "sites" for p in _placed(window))
    assert window.canvas.layers["sites"].visible  # the symbols stay: only their codes went
    window.close()

    again = _new_window(qtbot, sample_db_path)
    assert again.layer_panel.label_rows["sites"].checkState(0) == Qt.CheckState.Unchecked
    assert again.layer_panel.label_rows["routes"].checkState(0) == Qt.CheckState.Checked
    search_and_go(again, code)
    assert not any(p.key == "sites" for p in _placed(again))

    _click_labels_row(again, "sites")  # on again, and on after the next restart
    assert code in [p.text for p in _placed(again)]
    again.close()
    third = _new_window(qtbot, sample_db_path)
    assert third.canvas.layers["sites"].labels_visible
    assert third.layer_panel.label_rows["sites"].checkState(0) == Qt.CheckState.Checked


def test_segments_are_cut_to_the_screen_as_shapely_cuts_them():
    from hatang_desktop.ui.map.feature_labels import clip_segments

    rng = np.random.default_rng(7)
    a, b = rng.uniform(-300, 1300, (400, 2)), rng.uniform(-300, 1300, (400, 2))
    ax, ay, bx, by, keep = clip_segments(a[:, 0], a[:, 1], b[:, 0], b[:, 1], 10, 20, 1000, 700)
    for i in range(len(a)):
        cut = shapely.clip_by_rect(shapely.LineString([a[i], b[i]]), 10, 20, 1000, 700)
        assert keep[i] == (cut.length > 1e-9)
        if keep[i]:
            assert np.hypot(bx[i] - ax[i], by[i] - ay[i]) == pytest.approx(cut.length, abs=1e-6)


def test_the_vertices_of_routes_in_view_are_those_of_a_full_pass(window):
    item = window.canvas.feature_labels
    routes = window.canvas.layers["routes"].data
    rng = np.random.default_rng(3)
    for _ in range(5):
        features = np.sort(rng.choice(len(routes), size=20, replace=False))
        expected = np.flatnonzero(np.isin(routes.vertex_feature, features))
        assert np.array_equal(np.sort(item._vertices_of(routes, features)), expected)
