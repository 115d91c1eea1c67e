"""Reference layers as a user adds them: Tệp > Thêm lớp tham chiếu…, the file dialog, the
GeoPackage's layer chosen, the style dialog from a double-click in the layer panel, the check box,
the context menu; drawn where the file says, and back the same after the database is reopened."""

from __future__ import annotations

import json
import logging
import shutil
import threading

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QInputDialog

from hatang_desktop.core import reflayers
from hatang_desktop.core.geo.projection import lonlat_to_mercator, mercator_to_lonlat
from hatang_desktop.core.map_data import Extent
from hatang_desktop.ui import jobs
from hatang_desktop.ui.reference_style_dialog import ReferenceStyleDialog
from tests.core.test_reference_layers import gdal_translate, make_geotiff, write_two_layer_geopackage
from tests.ui.test_every_action import FileDialogs
from tests.ui.test_user_walks_exchange import open_menu_item

from . import walk

MENU_ITEM = "Thêm lớp tham chiếu (đường, sông, thửa đất)…"
PARCEL = (105.90, 18.34, 105.91, 18.35)  # the parcel's box in the test GeoPackage (lon/lat)


def read(qtbot, window) -> None:
    """Until the files being added are read (on a worker) and their layers saved and drawn."""
    qtbot.waitUntil(lambda: not window.references.adding, timeout=30000)


def ok_button(dialog):
    return dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)


def pick_layer(dialog: QInputDialog, name: str) -> None:
    walk.choose(dialog.findChild(QComboBox), text=name)
    walk.click(ok_button(dialog))


def row_of(window, name: str):
    return window.references.rows[name]


def double_click_row(window, name: str) -> None:
    tree = window.layer_panel.tree
    row = row_of(window, name)
    tree.scrollToItem(row)
    walk.settle(20)
    rect = tree.visualItemRect(row)
    pixel = QPoint(rect.left() + 60, rect.center().y())
    viewport, left, none = tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # What the platform delivers: a click, then press, double-click, release (QTest.mouseDClick
    # sends the double-click alone, which an item view ignores without the press before it).
    QTest.mouseClick(viewport, left, none, pixel)
    QTest.mousePress(viewport, left, none, pixel)
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseButtonDblClick, QPointF(pixel),
                                                 QPointF(viewport.mapToGlobal(pixel)), left, left, none))
    QTest.mouseRelease(viewport, left, none, pixel)


def style_it(dialog: ReferenceStyleDialog) -> None:
    """Blue, 3 px, filled at full strength, labelled by parcel code: through the widgets."""
    colour = walk.when_modal(lambda cd: (cd.setCurrentColor(QColor("#2266aa")), walk.click(ok_button(cd))))
    walk.click(dialog.colour)
    colour.done()
    assert dialog.colour.text() == "#2266aa"
    walk.clear_text(dialog.width)
    walk.type_into(dialog.width, "3")
    walk.check(dialog.fill, True)
    dialog.opacity.setFocus()
    walk.press(dialog.opacity, "End")
    walk.choose(dialog.label, "ma")
    walk.click(ok_button(dialog))


def click_menu_item(window, name: str, text: str) -> None:
    """The row's context menu (what a right-click opens), then a click on its item."""
    tree = window.layer_panel.tree
    menu = window.references.context_menu(name)
    menu.popup(tree.viewport().mapToGlobal(tree.visualItemRect(row_of(window, name)).center()))
    walk.settle(30)
    act = next(a for a in menu.actions() if a.text() == text)
    assert act.isEnabled()
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, menu.actionGeometry(act).center())
    walk.settle(30)


def drawn_lonlat_box(window, name: str) -> tuple[float, float, float, float]:
    rect = window.references.map.drawn[name].areas.tiles.rect()
    (w, e), (s, n) = mercator_to_lonlat(np.array([rect.left(), rect.right()]), np.array([rect.top(), rect.bottom()]))
    return float(w), float(s), float(e), float(n)


def test_add_style_toggle_reopen_and_remove(window, qtbot, monkeypatch, tmp_path_factory, sample_db_path, caplog):
    caplog.set_level(logging.ERROR, logger="hatang_desktop.ui.map.reference")
    gpkg = sample_db_path.parent / "quy_hoach.gpkg"
    shutil.copy(write_two_layer_geopackage(tmp_path_factory.mktemp("made")), gpkg)
    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(gpkg))

    # Tệp > Thêm lớp tham chiếu…: the file dialog answers the GeoPackage, which has two layers.
    walk.activate(window)
    chooser = walk.when_modal(lambda d: pick_layer(d, "thua"))
    open_menu_item(window, "Tệp", MENU_ITEM)
    chooser.done()
    read(qtbot, window)
    assert dialogs.calls == ["open_file_name"]
    assert "thua" in window.references.rows
    assert window.statusBar().currentMessage() == "Đã thêm lớp tham chiếu: thua"
    assert np.allclose(drawn_lonlat_box(window, "thua"), PARCEL, atol=1e-7)

    # Its style through the dialog a double-click on its row opens.
    styled = walk.when_modal(style_it)
    double_click_row(window, "thua")
    styled.done()
    (entry,) = reflayers.load(window.db)
    assert (entry.colour, entry.width, entry.fill, entry.opacity, entry.label) == ("#2266aa", 3.0, True, 1.0, "ma")
    drawn = window.references.map.drawn["thua"]
    assert drawn.areas.pen.color().name() == "#2266aa" and drawn.areas.pen.widthF() == 3.0
    assert [s.label_field for s in drawn.labels] and drawn.labels[-1].data.attrs["label"].tolist() == ["TS-01"]

    # On the map: under the parcel's corner of the view, the fill's blue (survey symbols aside).
    window.canvas.set_layer_visible("sites", False)
    window.canvas.set_layer_visible("poles", False)
    window.canvas.set_layer_visible("routes", False)
    (x0, x1), (y0, y1) = lonlat_to_mercator(np.array(PARCEL[::2]), np.array(PARCEL[1::2]))
    window.canvas.zoom_to(Extent(float(x0), float(y0), float(x1), float(y1)), padding=0.3)
    walk.settle(50)
    image = window.canvas.grab().toImage()
    ratio = image.devicePixelRatio()
    blue = 0
    for lon in np.linspace(PARCEL[0] + 0.002, PARCEL[2] - 0.002, 4):
        for lat in np.linspace(PARCEL[1] + 0.002, PARCEL[3] - 0.002, 4):
            p = walk.map_pixel(window, lon, lat)
            blue += image.pixelColor(int(p.x() * ratio), int(p.y() * ratio)).name() == "#2266aa"
    assert blue >= 12, blue
    outside = walk.map_pixel(window, PARCEL[0] - 0.003, PARCEL[1] - 0.003)
    assert image.pixelColor(int(outside.x() * ratio), int(outside.y() * ratio)).name() != "#2266aa"

    # A second layer of the same file comes on top; moved below the parcels from its menu.
    dialogs.answers.append(str(gpkg))
    chooser = walk.when_modal(lambda d: pick_layer(d, "duong"))
    open_menu_item(window, "Tệp", MENU_ITEM)
    chooser.done()
    read(qtbot, window)
    assert [e.name for e in reflayers.load(window.db)] == ["duong", "thua"]
    click_menu_item(window, "duong", "Xuống dưới")
    assert [e.name for e in reflayers.load(window.db)] == ["thua", "duong"]
    roads = window.references.map.drawn["duong"].lines
    assert drawn.areas.zValue() > roads.zValue() > window.canvas.layers["boundaries"].land.zValue()
    assert roads.zValue() < window.canvas.layers["zones"].items[0].zValue()  # under the survey layers

    # Switched off with the keyboard on its row, saved at once.
    tree = window.layer_panel.tree
    tree.setFocus()
    tree.setCurrentItem(row_of(window, "thua"))
    walk.press(tree, "Space")
    assert not reflayers.load(window.db)[0].visible and reflayers.load(window.db)[1].visible
    assert not drawn.areas.isVisible()

    # Closed and opened again: the same layer, style and state.
    window.load_database(sample_db_path)
    qtbot.waitUntil(lambda: not window.references.loading, timeout=30000)
    again = window.references.map.drawn["thua"]
    assert again is not drawn and not again.areas.isVisible()
    assert again.areas.pen.color().name() == "#2266aa" and again.areas.brush.color().alphaF() == 1.0
    assert row_of(window, "thua").checkState(0) == Qt.CheckState.Unchecked
    assert list(window.references.rows) == ["thua", "duong"]
    assert again.areas.zValue() > window.references.map.drawn["duong"].lines.zValue()

    # The file gone: the row says so in both languages; the map and the rest carry on.
    gpkg.unlink()
    window.load_database(sample_db_path)
    qtbot.waitUntil(lambda: not window.references.loading, timeout=30000)
    row = row_of(window, "thua")
    notes = [row.child(k).text(0) for k in range(row.childCount())]
    assert notes == ["Không vẽ được: không tìm thấy tệp", "file not found"]
    assert str(gpkg) in row.child(0).toolTip(0) and row.isExpanded()
    assert "thua" not in window.references.map.drawn and len(window.canvas.layers["sites"].data)

    # Removed from their context menus.
    click_menu_item(window, "thua", "Bỏ lớp (giữ tệp)")
    assert [e.name for e in reflayers.load(window.db)] == ["duong"]
    click_menu_item(window, "duong", "Bỏ lớp (giữ tệp)")
    assert reflayers.load(window.db) == [] and window.references.rows == {}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.skipif(gdal_translate is None, reason="GDAL's gdal_translate is not installed")
def test_a_geotiff_through_the_menu_and_its_opacity(window, qtbot, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="hatang_desktop.ui.map.reference")
    tif = make_geotiff(tmp_path, "EPSG:4326", (105.90, 18.36, 105.96, 18.32))
    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(str(tif))
    walk.activate(window)
    open_menu_item(window, "Tệp", MENU_ITEM)
    read(qtbot, window)
    name = tif.stem
    item = window.references.map.drawn[name].items[0]
    rect = item.boundingRect()
    (w, e), (s, n) = mercator_to_lonlat(np.array([rect.left(), rect.right()]), np.array([rect.top(), rect.bottom()]))
    assert np.allclose([w, s, e, n], [105.90, 18.32, 105.96, 18.36], atol=1e-6)
    assert item.zValue() < window.canvas.layers["zones"].items[0].zValue()
    assert item.zValue() > window.canvas.basemap.zValue()

    def half(dialog: ReferenceStyleDialog) -> None:
        assert not dialog.colour.isVisible() and not dialog.label.isVisible()  # an image has neither
        dialog.opacity.setFocus()
        walk.press(dialog.opacity, "Home")
        for _ in range(5):
            walk.press(dialog.opacity, "PgUp")  # 10 a page
        assert dialog.opacity_text.text() == "50%"
        walk.click(ok_button(dialog))

    styled = walk.when_modal(half)
    double_click_row(window, name)
    styled.done()
    assert item.opacity() == 0.5 and reflayers.load(window.db)[0].opacity == 0.5
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def add_through_menu(window) -> None:
    """Tệp > Thêm lớp tham chiếu…, the pointer coming from the map: a menu ignores a click where
    the pointer has not moved since it opened (the previous walk left it on this very item)."""
    QTest.mouseMove(window.canvas, window.canvas.rect().center())
    walk.settle(20)
    open_menu_item(window, "Tệp", MENU_ITEM)


def write_road(folder, name: str = "duong_xa") -> str:
    """A one-road GeoJSON inside the sample's province."""
    path = folder / f"{name}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"ten": "ĐX.01"},
        "geometry": {"type": "LineString", "coordinates": [[105.90, 18.34], [105.92, 18.35], [105.93, 18.33]]}}]}),
        encoding="utf-8")
    return str(path)


class HeldRead:
    """The core's read of a file being added, held on its worker until `release` (a slow file)."""

    def __init__(self, monkeypatch):
        self.gate, self.started, self.real = threading.Event(), threading.Event(), reflayers.read_new
        monkeypatch.setattr(reflayers, "read_new", self)

    def __call__(self, *args, **kwargs):
        self.started.set()
        assert self.gate.wait(30)
        return self.real(*args, **kwargs)

    def release(self) -> None:
        self.gate.set()


def add_held(window, monkeypatch, tmp_path) -> HeldRead:
    """A road added through the menu and the file dialog, its read held on the worker."""
    held = HeldRead(monkeypatch)
    FileDialogs(monkeypatch).answers.append(write_road(tmp_path))
    walk.activate(window)
    add_through_menu(window)
    assert held.started.wait(10)
    return held


def test_a_slow_file_is_read_while_the_window_stays_usable(window, qtbot, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    held = HeldRead(monkeypatch)
    dialogs = FileDialogs(monkeypatch)
    dialogs.answers.append(write_road(tmp_path))
    beats = []
    heartbeat = QTimer(window)
    heartbeat.timeout.connect(lambda: beats.append(1))
    heartbeat.start(10)

    walk.activate(window)
    add_through_menu(window)
    assert held.started.wait(10), (dialogs.calls, window.statusBar().currentMessage(), window.references.adding)
    assert window.statusBar().currentMessage() == "Đang đọc lớp tham chiếu duong_xa…"
    # The read is still held, yet the window handles events: the heartbeat fires, the menu opens.
    before = len(beats)
    qtbot.waitUntil(lambda: len(beats) >= before + 10, timeout=5000)
    assert window.references.adding and "duong_xa" not in window.references.rows
    assert reflayers.load(window.db) == []
    held.release()
    read(qtbot, window)
    heartbeat.stop()
    assert [e.name for e in reflayers.load(window.db)] == ["duong_xa"]
    assert "duong_xa" in window.references.rows and "duong_xa" in window.references.map.drawn
    assert window.statusBar().currentMessage() == "Đã thêm lớp tham chiếu: duong_xa"
    assert not caplog.records


def test_closing_the_database_mid_read_leaves_no_layer(window, qtbot, monkeypatch, tmp_path, sample_db_path, caplog):
    caplog.set_level(logging.ERROR)
    other = tmp_path / "khac.db"
    shutil.copyfile(sample_db_path, other)
    held = add_held(window, monkeypatch, tmp_path)

    window.load_database(other)   # another database opened while the file is read
    assert not window.references.cancel_button.isVisible()
    held.release()
    assert jobs.wait_all(30)
    walk.settle(50)               # the late result delivered to the window, and dropped
    assert not window.references.adding
    assert reflayers.load(window.db) == [] and window.references.rows == {}
    assert window.references.map.drawn == {}
    assert window.statusBar().currentMessage() != "Đang đọc lớp tham chiếu duong_xa…"
    window.load_database(sample_db_path)
    assert reflayers.load(window.db) == []
    assert not caplog.records


def test_a_file_with_nothing_to_draw_is_refused_after_its_read(window, qtbot, monkeypatch, tmp_path):
    empty = tmp_path / "rong.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    broken = tmp_path / "hong.geojson"
    broken.write_text("không phải GeoJSON", encoding="utf-8")
    dialogs = FileDialogs(monkeypatch)
    walk.activate(window)
    for path, vi in ((empty, "không có đối tượng nào có hình học để vẽ"), (broken, "")):
        dialogs.answers.append(str(path))
        add_through_menu(window)
        read(qtbot, window)
        message = window.statusBar().currentMessage()
        assert message.startswith("Không thêm được lớp tham chiếu: ") and " / " in message, message
        assert vi in message
    assert reflayers.load(window.db) == [] and window.references.rows == {}


def test_cancel_while_a_file_is_read(window, qtbot, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    held = add_held(window, monkeypatch, tmp_path)
    cancel = window.references.cancel_button
    assert cancel.isVisible() and cancel.text() == "Hủy"
    walk.click(cancel)
    assert not cancel.isVisible()
    assert window.statusBar().currentMessage() == "Đã hủy, không thay đổi gì"
    held.release()
    assert jobs.wait_all(30)
    walk.settle(50)
    assert reflayers.load(window.db) == [] and window.references.rows == {} and window.references.map.drawn == {}
    assert window.statusBar().currentMessage() == "Đã hủy, không thay đổi gì"
    assert not caplog.records
