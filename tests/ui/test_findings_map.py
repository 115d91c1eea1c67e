"""Issue 20: findings that help, not bury. On the map, findings are groups with a count when
zoomed out and one flag each when zoomed in; a click on a group zooms in to it; the layer
switched off in the layer panel stays off after a restart; the findings list gets room for its
rows when it comes into view, even after a layout saved with it squeezed."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest

from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.ui.map.layers.findings import SEVERITY_ORDER

from .walk import click, click_map, press, settle


def _run_check(qtbot, window) -> None:
    panel = window.findings_panel
    window.findings_panel.toggleViewAction().trigger()  # Xem > Vi phạm
    with qtbot.waitSignal(panel.check_finished, timeout=120000) as blocker:
        click(panel.run_button)
    assert blocker.args[0] is not None
    settle(50)


def _painted(window):
    window.canvas.grab()  # a paint of the map as it is on screen
    layer = window.canvas.layers["findings"]
    return layer, layer.groups.last_groups


def test_groups_when_zoomed_out_flags_when_zoomed_in(qtbot, window):
    _run_check(qtbot, window)
    window.canvas.setFocus()
    press(window.canvas, "Ctrl+0")  # Toàn bộ: the whole province
    layer, groups = _painted(window)
    n = len(layer.data)
    assert n > 300  # the check's findings on the sample, with positions
    assert layer.grouped and layer.groups.isVisible() and not layer.flags.isVisible()
    # Every finding is in exactly one group, and far fewer marks are drawn than findings.
    assert int(groups.count.sum()) == n
    assert len(groups) < n / 5 and (groups.count > 1).sum() >= 5
    # A group is coloured by its most serious finding: one holding a violation is a violation.
    ranks = layer.rank
    assert ranks.max() == SEVERITY_ORDER.index("violation")
    assert groups.worst.max() == ranks.max()

    # A click on the biggest group zooms in 4x there (no identify); groups get smaller, until
    # every finding is a flag of its own.
    shown_before = window.identify_panel.feature
    sizes = [groups.count.mean()]
    for _ in range(6):
        if not layer.grouped:
            break
        biggest = int(np.argmax(groups.count))
        gx, gy = float(groups.x[biggest]), float(groups.y[biggest])
        before = window.canvas.metres_per_pixel()
        click_map(window, *mercator_to_lonlat(gx, gy))
        assert window.canvas.metres_per_pixel() == pytest.approx(before * window.canvas.GROUP_ZOOM, rel=0.01)
        (x0, x1), (y0, y1) = window.canvas.view.viewRange()
        assert x0 < gx < x1 and y0 < gy < y1
        _, groups = _painted(window)
        if layer.grouped:
            sizes.append(groups.count.mean())
    assert window.identify_panel.feature is shown_before  # zooms, never an identify
    assert not layer.grouped and layer.flags.isVisible() and not layer.groups.isVisible()
    assert len(groups) == 0  # the group item drew nothing
    assert sizes[-1] < sizes[0] / 3  # closer in, groups were smaller before they became flags
    assert layer.flags.last_drawn > 0  # flags, one per finding in view


def _toggle_layer(window, key: str) -> None:
    """Click the layer's row in the layer panel and press Space: its check box flips."""
    tree = window.layer_panel.tree
    row = window.layer_panel._rows[key]
    rect: QRect = tree.visualItemRect(row)
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())
    QTest.keyClick(tree.viewport(), Qt.Key.Key_Space)
    settle()


def _new_window(qtbot, path, size=(1200, 800), restore=False):
    """The app started again: its window sized, the layout it saved restored (as ui/app.py
    does, before the window shows), the database opened."""
    from hatang_desktop.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    if restore:
        assert w.comfort.restore_layout()
    w.resize(*size)  # the saved geometry is clamped to the offscreen screen: a laptop's maximized window
    w.show()
    w.load_database(path)
    qtbot.waitExposed(w)
    return w


def test_the_findings_layer_switched_off_stays_off_after_a_restart(qtbot, window, sample_db_path):
    layer = window.canvas.layers["findings"]
    assert layer.visible  # on by default, the first time
    _toggle_layer(window, "findings")
    assert not layer.visible and not layer.groups.isVisible() and not layer.flags.isVisible()
    window.close()

    again = _new_window(qtbot, sample_db_path)
    layer = again.canvas.layers["findings"]
    row = again.layer_panel._rows["findings"]
    assert not layer.visible and row.checkState(0) == Qt.CheckState.Unchecked
    assert not any(item.isVisible() for item in layer.items)
    assert again.canvas.layers["sites"].visible  # only what the user switched off

    _toggle_layer(again, "findings")  # on again: on after the next restart too
    assert layer.visible
    again.close()
    third = _new_window(qtbot, sample_db_path)
    assert third.canvas.layers["findings"].visible
    assert third.layer_panel._rows["findings"].checkState(0) == Qt.CheckState.Checked


def test_the_findings_list_gets_room_for_its_rows_when_shown(qtbot, window, sample_db_path):
    from hatang_desktop.ui.findings_panel import FindingsTable

    window.resize(1366, 768)
    panel = window.findings_panel
    panel.toggleViewAction().trigger()
    settle(50)
    # The user drags the list down to two rows; the layout is saved with it so at closing.
    window.resizeDocks([panel], [110], Qt.Orientation.Vertical)
    settle(50)
    assert panel.table.viewport().height() < 3 * FindingsTable.ROW_PX
    window.close()

    again = _new_window(qtbot, sample_db_path, (1366, 768), restore=True)
    settle(50)
    qtbot.waitUntil(lambda: again.findings_panel.isVisible(), timeout=5000)
    table = again.findings_panel.table
    qtbot.waitUntil(lambda: table.viewport().height() >= (FindingsTable.VISIBLE_ROWS - 1) * FindingsTable.ROW_PX,
                    timeout=5000)
    frame = again.frameGeometry()
    assert frame.height() <= 800  # the room came from the map, not from a taller window


def test_group_points_counts_means_and_worst_per_cell():
    from hatang_desktop.ui.map.clusters import group_points

    # Cells of 100 map units: three points in (0, 0), one in (1, 0), two in (-1, 2).
    x = np.array([10.0, 20.0, 90.0, 150.0, -50.0, -10.0])
    y = np.array([10.0, 50.0, 30.0, 20.0, 250.0, 210.0])
    rank = np.array([0, 2, 1, 0, 1, 1])
    g = group_points(x, y, rank, 100.0)
    got = sorted(zip(g.count.tolist(), g.worst.tolist(), np.round(g.x, 6).tolist(), np.round(g.y, 6).tolist()))
    assert got == [(1, 0, 150.0, 20.0), (2, 1, -30.0, 230.0), (3, 2, 40.0, 30.0)]
    assert g.single.tolist().count(True) == 1


def test_a_finding_resolved_leaves_its_group(qtbot, window):
    """Resolve pressed in the findings list: the map's groups count one finding less (the layer
    is patched, not rebuilt), and undo brings it back."""
    _run_check(qtbot, window)
    layer, groups = _painted(window)
    before = int(groups.count.sum())
    panel = window.findings_panel
    panel.set_filter("status", "active")
    panel.table.selectRow(0)
    uuid = panel.selected_rows()[0]["uuid"]
    assert layer.index_of(uuid) is not None
    click(panel.status_buttons["resolved"])
    settle(20)
    layer, groups = _painted(window)
    assert layer.index_of(uuid) is None
    assert int(groups.count.sum()) == before - 1 == len(layer.data)
    press(window, "Ctrl+Z")
    settle(20)
    layer, groups = _painted(window)
    assert layer.index_of(uuid) is not None and int(groups.count.sum()) == before


def test_a_per_commune_finding_in_the_list_shows_its_commune(qtbot, window):
    """The sample has no photos: one "sites without a photo" finding per commune. Clicking one
    in the list shows its whole commune on the map and the finding (its count) in the panel."""
    _run_check(qtbot, window)
    panel = window.findings_panel
    panel.set_filter("rule", "sites_without_photo")
    frame = panel.model.frame
    assert len(frame) > 1 and frame["target_uuid"].isna().all() and frame["commune_code"].notna().all()
    table = panel.table
    record = panel.proxy.index(0, 3)   # "Đối tượng": no single record, the whole commune
    assert record.data() == "Cả xã/phường"
    rect = table.visualRect(panel.proxy.index(0, 2))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    settle(20)
    finding = panel.selected_rows()[0]
    assert "trạm chưa có ảnh ở" in finding["note"]
    code = finding["commune_code"]
    commune = next(c for c in window.communes if c.code == code)
    assert window.commune_combo.currentIndex() == window.communes.index(commune)
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    b = commune.bounds
    assert x0 <= b.min_x and b.max_x <= x1 and y0 <= b.min_y and b.max_y <= y1  # the whole commune
    assert (x1 - x0) < 3 * max(b.max_x - b.min_x, b.max_y - b.min_y)  # and not much more
    shown = window.identify_panel.feature
    assert shown is not None and shown.table == "findings" and shown.uuid == finding["uuid"]
