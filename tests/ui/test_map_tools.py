"""The map's tools, end to end on the 300-site sample: overlays, status bar, zoom, filter,
selection and the attribute table, search, measure, export, basemap."""

import sqlite3

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from hatang_desktop.core.geo.geodesy import geodesic_distance_m
from hatang_desktop.core.geo.projection import lonlat_to_mercator, mercator_to_lonlat
from hatang_desktop.core.geo.vn2000 import wgs84_to_vn2000
from hatang_desktop.core.map_data import Extent
from hatang_desktop.core.mbtiles import TileKey, write_mbtiles
from hatang_desktop.core.text import fold
from hatang_desktop.ui.main_window import MainWindow
from hatang_desktop.ui.map.layers import LayerFilter
from hatang_desktop.ui.settings import LAST_BASEMAP, app_settings


def _range(window):
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    return x0, y0, x1, y1


def test_scale_bar_and_north_arrow_stay_on_screen(window):
    canvas = window.canvas
    bar, arrow = canvas.scale_bar, canvas.north_arrow
    view_rect = canvas.view.boundingRect()
    for item in (bar, arrow):
        assert item.isVisible() and item.parentItem() is canvas.view
        assert view_rect.contains(item.mapRectToParent(item.boundingRect()))
    pos_before, label_before = bar.pos(), bar.label
    canvas.view.translateBy(x=5000)  # panning moves the map, not the overlays
    assert bar.pos() == pos_before
    canvas.zoom_by(0.25)
    assert bar.label != label_before and 0 < bar.length_px <= 130
    # The bar's length in ground metres matches its pixels at the centre latitude.
    (x0, x1), (y0, y1) = canvas.view.viewRange()
    _, lat = mercator_to_lonlat(0, (y0 + y1) / 2)
    mpp = (x1 - x0) / canvas.view.width() * np.cos(np.radians(lat))
    assert bar.length_px * mpp == pytest.approx(bar.length_m, rel=1e-6)


def test_status_bar_shows_vn2000_and_scale(window):
    x, y = lonlat_to_mercator(105.9, 18.34)
    window.canvas.cursor_moved.emit(float(x), float(y))
    north, east = wgs84_to_vn2000(18.34, 105.9, province="42")
    text = window.vn2000_label.text()
    assert text.startswith("VN-2000") and f"{north:,.1f}".replace(",", ".")[:-2] in text.replace(",", ".")
    assert window.scale_label.text().startswith("Tỷ lệ 1:")
    before = window.scale_label.text()
    window.canvas.zoom_by(0.5)
    assert window.scale_label.text() != before


def test_zoom_to_commune_shows_its_bounds(window):
    assert window.commune_combo.count() == len(window.communes) > 10
    commune = window.communes[3]
    window.commune_combo.setCurrentIndex(3)
    window.commune_combo.activated.emit(3)
    x0, y0, x1, y1 = _range(window)
    b = commune.bounds
    assert x0 <= b.min_x and y0 <= b.min_y and x1 >= b.max_x and y1 >= b.max_y
    # ...and not much more than that: the commune fills the view along one axis.
    assert min((b.max_x - b.min_x) / (x1 - x0), (b.max_y - b.min_y) / (y1 - y0)) < 1
    assert max((b.max_x - b.min_x) / (x1 - x0), (b.max_y - b.min_y) / (y1 - y0)) > 0.85


def test_plus_minus_keys_zoom(window, qtbot):
    width = lambda: _range(window)[2] - _range(window)[0]  # noqa: E731
    before = width()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Plus)
    assert width() == pytest.approx(before / 2, rel=0.01)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Minus)
    assert width() == pytest.approx(before, rel=0.01)


def test_filter_by_operator_and_technology(window):
    sites = window.canvas.layers["sites"]
    total = len(sites.scatter)
    box = window.layer_panel.filter_box
    box.set_operator("VTL")
    viettel = len(sites.scatter)
    assert 0 < viettel < total and sites.feature_count() == viettel
    assert sites.items[1] is sites.scatter  # the same single item, fed less data
    conn = sqlite3.connect(window.db.path)
    expected = conn.execute("""SELECT count(*) FROM sites WHERE deleted = 0 AND (operator_code = 'VTL' OR uuid IN
        (SELECT site_uuid FROM site_tenants WHERE deleted = 0 AND operator_code = 'VTL'))""").fetchone()[0]
    assert viettel == expected
    assert f"({viettel}/300)" in window.layer_panel._rows["sites"].text(0)
    for tech in ("2G", "3G", "4G"):
        box.tech_buttons[tech].setChecked(False)
    expected_5g = conn.execute("""SELECT count(DISTINCT site_uuid) FROM site_tenants
        WHERE deleted = 0 AND operator_code = 'VTL' AND has_5g = 1""").fetchone()[0]
    assert len(sites.scatter) == expected_5g < viettel
    poles, routes = window.canvas.layers["poles"], window.canvas.layers["routes"]
    assert poles.feature_count() < poles.total_count() and routes.feature_count() < routes.total_count()
    box.set_operators(sites._operators)
    window.set_filter(box.current())
    assert len(sites.scatter) == total


def _box_around_median(window, half=3000.0):
    s = window.canvas.layers["sites"].data
    cx, cy = float(np.median(s.x)), float(np.median(s.y))
    return Extent(cx - half, cy - half, cx + half, cy + half)


def test_box_select_matches_brute_force_and_fills_the_table(window):
    box = _box_around_median(window)
    window.select_box(box)
    s = window.canvas.layers["sites"].data
    brute = [u for u, x, y in zip(s.uuid, s.x, s.y)
             if box.min_x <= x <= box.max_x and box.min_y <= y <= box.max_y]
    assert sorted(s.uuid[window.selection["sites"]]) == sorted(brute) and brute
    assert window.canvas.selection_points.isVisible()
    assert len(window.canvas.selection_points.data) >= len(brute)
    table = window.table_dock
    assert table.isVisible() and table.layer_key() == "sites"
    assert table.model.rowCount() == len(brute)
    assert "Đã chọn" in window.message_label.text()
    # Sortable: by the code column, both ways.
    table.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    codes = [table.proxy.index(r, 0).data() for r in range(table.proxy.rowCount())]
    assert codes == sorted(codes)
    # Searchable without diacritics.
    name = table.model.shown[0][1]
    table.search.setText(fold(name))
    assert 1 <= table.proxy.rowCount() < max(len(brute), 2) or table.proxy.rowCount() == 1
    assert all(fold(name) in table.model.keys[table.proxy.mapToSource(table.proxy.index(r, 0)).row()]
               for r in range(table.proxy.rowCount()))
    # Double-click a row: the map goes there and the panel shows it.
    uuid = table.model.uuid(table.proxy.mapToSource(table.proxy.index(0, 0)).row())
    table.activate_row(0)
    assert window.identify_panel.feature.uuid == uuid
    i = list(s.uuid).index(uuid)
    x0, y0, x1, y1 = _range(window)
    assert x0 < s.x[i] < x1 and y0 < s.y[i] < y1 and x1 - x0 < 3000
    window.clear_selection()
    assert not window.canvas.selection_points.isVisible() and table.model.rowCount() == 0


def test_shift_drag_draws_a_box_and_selects(window):
    view = window.canvas.view
    box = _box_around_median(window)
    a = view.mapViewToDevice(pg_point(box.min_x, box.max_y))
    b = view.mapViewToDevice(pg_point(box.max_x, box.min_y))

    class Drag:  # the parts of pyqtgraph's MouseDragEvent the ViewBox reads
        def __init__(self, finish):
            self.finish = finish

        def button(self):
            return Qt.MouseButton.LeftButton

        def modifiers(self):
            return Qt.KeyboardModifier.ShiftModifier

        def buttonDownPos(self, _button=None):
            return view.mapFromDevice(a)

        def pos(self):
            return view.mapFromDevice(b)

        def isFinish(self):
            return self.finish

        def accept(self):
            pass

    before = _range(window)
    view.mouseDragEvent(Drag(False))
    assert view.band.isVisible()
    view.mouseDragEvent(Drag(True))
    assert not view.band.isVisible()
    after = _range(window)
    # Selecting did not pan (the table dock opening may resize the view around its centre).
    assert (after[0] + after[2]) / 2 == pytest.approx((before[0] + before[2]) / 2, abs=50)
    assert (after[1] + after[3]) / 2 == pytest.approx((before[1] + before[3]) / 2, abs=50)
    got = set(window.selection["sites"])
    assert got == set(window.select_box(box)["sites"])


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_zoom_to_selection(window):
    box = _box_around_median(window, 2000)
    window.select_box(box)
    window.canvas.zoom_full()
    full = _range(window)
    window.act_zoom_selection.trigger()
    x0, y0, x1, y1 = _range(window)
    e = window.selection_extent()  # selected sites and poles, and the routes crossing the box
    assert x0 <= e.min_x and x1 >= e.max_x and y0 <= e.min_y and y1 >= e.max_y
    assert (x1 - x0) < (full[2] - full[0]) / 2
    window.clear_selection()
    assert not window.act_zoom_selection.isEnabled()


def test_search_without_diacritics_zooms_and_identifies(window):
    conn = sqlite3.connect(window.db.path)
    uuid, name, lon, lat = conn.execute("SELECT uuid, name, lon, lat FROM sites WHERE deleted = 0 "
                                        "ORDER BY id LIMIT 1 OFFSET 42").fetchone()
    hits = window.run_search(fold(name))
    hit = next(h for h in hits if h.uuid == uuid)
    assert window.search_box.hits == hits
    window.search_box.choose(hits.index(hit))
    assert window.identify_panel.feature.uuid == uuid
    x, y = lonlat_to_mercator(lon, lat)
    x0, y0, x1, y1 = _range(window)
    assert x0 < x < x1 and y0 < y < y1 and x1 - x0 < 3000
    assert window.canvas.highlight_point.isVisible()
    assert window.run_search("khongcodaunhuthe") == []
    assert "Không tìm thấy" in window.statusBar().currentMessage()


def test_measure_a_known_segment_and_area(window, qtbot):
    canvas = window.canvas
    window.tool_actions["measure_line"].trigger()
    assert canvas.tool == "measure_line"
    (ax, ay), (bx, by) = (lonlat_to_mercator(105.90, 18.30), lonlat_to_mercator(105.95, 18.34))
    canvas.add_measure_point(float(ax), float(ay))
    canvas.add_measure_point(float(bx), float(by))
    canvas.finish_measure()
    expected = geodesic_distance_m(18.30, 105.90, 18.34, 105.95)
    text = window.message_label.text()
    assert text.startswith("Khoảng cách:") and f"{expected / 1000:.2f}".replace(".", ",") in text
    assert canvas.measure.path.isVisible()
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)  # Esc ends measuring
    assert canvas.tool == "pan" and not canvas.measure.path.isVisible()
    assert window.tool_actions["pan"].isChecked()
    # A 500 m x 500 m square near Hà Tĩnh: ~25 ha.
    window.tool_actions["measure_area"].trigger()
    lat0, lon0 = 18.3, 105.9
    dlat = 500 / 110_700
    dlon = 500 / (111_320 * np.cos(np.radians(lat0)))
    for lon, lat in ((lon0, lat0), (lon0 + dlon, lat0), (lon0 + dlon, lat0 + dlat), (lon0, lat0 + dlat)):
        x, y = lonlat_to_mercator(lon, lat)
        canvas.add_measure_point(float(x), float(y))
    canvas.finish_measure()
    text = window.message_label.text()
    assert text.startswith("Diện tích:") and " ha" in text
    area_ha = float(text.split(":")[1].split("ha")[0].strip().replace(".", "").replace(",", "."))
    assert area_ha == pytest.approx(25, rel=0.01)
    assert "chu vi 2,00 km" in text


def test_click_in_measure_mode_adds_points_not_identify(window, qtbot):
    from PySide6.QtCore import QPointF

    canvas = window.canvas
    canvas.set_tool("measure_line")
    s = canvas.layers["sites"].data
    x, y = float(s.x[3]), float(s.y[3])
    canvas.view.setRange(xRange=(x - 500, x + 500), yRange=(y - 500, y + 500), padding=0)
    qtbot.wait(10)
    pos = canvas.mapFromScene(canvas.view.mapViewToScene(QPointF(x, y)))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert len(canvas.measure_points) == 1 and window.identify_panel.feature is None


def test_export_png_and_pdf(window, tmp_path):
    window.select_box(_box_around_median(window))
    png, pdf = tmp_path / "map.png", tmp_path / "map.pdf"
    assert window.export(png) and window.export(pdf)
    image = QImage(str(png))
    assert image.width() > 2000 and image.height() > 1500
    assert image.pixelColor(5, 5).name() == "#ffffff"  # the page margin
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000
    assert "Hà Tĩnh" in window.export_title()


def _basemap(tmp_path, window, damaged=False):
    from tests.core.test_mbtiles import solid_png  # noqa: PLC0415

    x0, y0, x1, y1 = _range(window)
    from hatang_desktop.core.mbtiles import tiles_in_view

    keys = tiles_in_view(9, x0, y0, x1, y1)
    tiles = {(k.z, k.x, k.y): solid_png((40, 160, 40), 64) for k in keys[1:]}  # the first one is missing
    if damaged:
        tiles[(keys[1].z, keys[1].x, keys[1].y)] = b"\x89PNG garbage"
    return write_mbtiles(tmp_path / "base.mbtiles", tiles), keys


def test_basemap_draws_under_the_layers_and_is_remembered(window, qtbot, tmp_path):
    path, keys = _basemap(tmp_path, window)
    assert window.open_basemap(path)
    window.canvas.refresh_basemap()
    item = window.canvas.basemap
    assert item.tiles and all(k.z == item.source.zoom_for(window.canvas.metres_per_pixel()) for k, _ in item.tiles)
    assert keys[0] in item.missing  # a missing tile is skipped, and said
    assert "thiếu" in window.statusBar().currentMessage()
    assert item.zValue() < min(i.zValue() for i in window.canvas.layers["boundaries"].items if i.isVisible())
    assert not window.canvas.layers["boundaries"].land.isVisible()
    # The tiles really reach the screen: some of the basemap green shows.
    image = window.canvas.grab().toImage()
    greens = sum(image.pixelColor(x, y).name() == "#28a028"
                 for x in range(0, image.width(), 7) for y in range(0, image.height(), 7))
    assert greens > 50
    assert app_settings().value(LAST_BASEMAP) == str(path.resolve())
    other = MainWindow()
    qtbot.addWidget(other)
    assert other.restore_basemap() and other.canvas.basemap.source.path == path
    window.act_close_basemap.trigger()
    assert window.canvas.basemap.source is None and window.canvas.layers["boundaries"].land.isVisible()


def test_damaged_tile_and_corrupt_file_never_break_the_map(window, tmp_path):
    path, keys = _basemap(tmp_path, window, damaged=True)
    assert window.open_basemap(path)
    window.canvas.refresh_basemap()
    assert TileKey(keys[1].z, keys[1].x, keys[1].y) in window.canvas.basemap.damaged
    assert "hỏng 1" in window.statusBar().currentMessage()
    window.canvas.grab()  # paints without the damaged tile
    bad = tmp_path / "bad.mbtiles"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    assert not window.open_basemap(bad)
    assert "Không mở được bản đồ nền" in window.statusBar().currentMessage()
    assert window.canvas.basemap.source is not None  # the previous basemap is kept
    assert window.canvas.layers["sites"].feature_count() == 300
    assert QSettings  # settings untouched by a failed open:
    assert app_settings().value(LAST_BASEMAP) == str(path.resolve())


def test_wheel_zooms_about_the_cursor(window, qtbot):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    canvas = window.canvas
    s = canvas.layers["sites"].data
    x, y = float(s.x[10]), float(s.y[10])
    canvas.view.setRange(xRange=(x - 20000, x + 20000), yRange=(y - 20000, y + 20000), padding=0)
    qtbot.wait(10)
    pos = canvas.mapFromScene(canvas.view.mapViewToScene(QPointF(x, y)))
    before = _range(window)
    scale_before = window.scale_label.text()

    def wheel(steps):
        event = QWheelEvent(QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, 0),
                            QPoint(0, 120 * steps), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(canvas.viewport(), event)

    wheel(2)  # away from the user: zoom in
    after = _range(window)
    assert after[2] - after[0] < (before[2] - before[0]) * 0.9
    assert window.scale_label.text() != scale_before
    # The place under the cursor stays under the cursor.
    here = canvas.view.mapSceneToView(canvas.mapToScene(pos))
    assert here.x() == pytest.approx(x, abs=(after[2] - after[0]) / 100)
    assert here.y() == pytest.approx(y, abs=(after[3] - after[1]) / 100)
    wheel(-2)
    back = _range(window)
    assert back[2] - back[0] == pytest.approx(before[2] - before[0], rel=0.02)


def _site_alone(window, candidates):
    """Index of a site among `candidates` (a mask) with no other site or pole within 300 m."""
    s = window.canvas.layers["sites"].data
    p = window.canvas.layers["poles"].data
    for i in np.flatnonzero(candidates):
        d_sites = np.hypot(s.x - s.x[i], s.y - s.y[i])
        if np.count_nonzero(d_sites < 300) == 1 and np.hypot(p.x - s.x[i], p.y - s.y[i]).min() > 300:
            return int(i)
    pytest.skip("no isolated site in the sample")


def test_identify_skips_filtered_and_hidden_features(window):
    sites = window.canvas.layers["sites"]
    s = sites.data
    window.layer_panel.filter_box.set_operator("VTL")  # Viettel only
    i = _site_alone(window, ~sites.shown)  # a site the filter hides
    x, y = float(s.x[i]), float(s.y[i])
    feature = window.identify_at(x, y, 20.0)
    assert feature is None or feature.uuid != s.uuid[i]
    box = window.layer_panel.filter_box
    box.set_operators(window.canvas.layers["sites"]._operators)
    window.set_filter(box.current())
    assert window.identify_at(x, y, 20.0).uuid == s.uuid[i]
    window.layer_panel.set_checked("sites", False)  # a layer switched off is not clicked either
    feature = window.identify_at(x, y, 20.0)
    assert feature is None or feature.table != "sites"


def test_poles_are_identified_only_where_they_are_drawn(window):
    canvas = window.canvas
    poles = canvas.layers["poles"]
    x, y = float(poles.data.x[0]), float(poles.data.y[0])
    window.layer_panel.set_checked("sites", False)
    canvas.zoom_to(Extent(x, y, x, y))  # zoomed in: poles drawn
    assert poles.is_drawn()
    assert window.identify_at(x, y, 5.0).table == "poles"
    canvas.zoom_full()  # the province on screen: poles not drawn, not picked
    assert not poles.is_drawn()
    feature = window.identify_at(x, y, 5.0)
    assert feature is None or feature.table != "poles"


def test_refresh_keeps_the_view_and_rebuilds_only_the_given_layers(window, sample_db_path):
    import dataclasses

    from hatang_desktop.core.map_data import read_map

    canvas = window.canvas
    s = canvas.layers["sites"].data
    canvas.zoom_to(Extent(float(s.x[0]) - 3000, float(s.y[0]) - 3000, float(s.x[0]) + 3000, float(s.y[0]) + 3000))
    view = _range(window)
    routes_tiles = canvas.layers["routes"].groups[next(iter(canvas.layers["routes"].groups))].tiles
    data = read_map(window.db)
    keep = np.arange(len(data.sites)) != 0  # as if the first site had been deleted
    data = dataclasses.replace(data, sites=dataclasses.replace(
        data.sites, uuid=data.sites.uuid[keep], x=data.sites.x[keep], y=data.sites.y[keep],
        attrs={k: v[keep] for k, v in data.sites.attrs.items()}))
    canvas.refresh(data, keys={"sites"})
    assert _range(window) == pytest.approx(view)
    assert len(canvas.layers["sites"].scatter) == len(s) - 1
    assert canvas.layers["sites"].index_of(s.uuid[0]) is None
    assert canvas.layers["sites"].index_of(s.uuid[1]) == 0
    assert canvas.layers["routes"].groups[next(iter(canvas.layers["routes"].groups))].tiles is routes_tiles
    assert list(canvas.indices("sites", [s.uuid[2], "no-such-uuid"])) == [1]


def test_overlays_from_other_features(window):
    from PySide6.QtGui import QPainterPath
    from PySide6.QtWidgets import QGraphicsPathItem

    canvas = window.canvas
    full = _range(window)
    path = QPainterPath()
    path.addRect(-2e7, -2e7, 4e7, 4e7)  # far bigger than the province: must not change the extent
    first, second = QGraphicsPathItem(path), QGraphicsPathItem(path)
    canvas.add_overlay("coverage", first, z=-25)
    assert first.scene() is canvas.scene() and first.zValue() == -25
    canvas.add_overlay("coverage", second)  # the same key replaces
    assert first.scene() is None and canvas.overlay("coverage") is second
    from hatang_desktop.core.map_data import read_map

    canvas.refresh(read_map(window.db))  # kept across refresh and set_map
    canvas.set_map(read_map(window.db))
    assert canvas.overlay("coverage") is second and second.scene() is canvas.scene()
    assert _range(window) == pytest.approx(full)
    canvas.remove_overlay("coverage")
    canvas.remove_overlay("coverage")  # twice is harmless
    assert second.scene() is None and canvas.overlay("coverage") is None


def _render(canvas):
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QPainter

    painter = QPainter(image)
    canvas.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    return image


def _differing_pixels(a: QImage, b: QImage) -> float:
    def arr(img):
        img = img.convertToFormat(QImage.Format.Format_RGB32)
        return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, :img.width() * 4]

    diff = np.abs(arr(a).astype(int) - arr(b).astype(int)).reshape(a.height(), a.width(), 4).max(axis=2)
    return float(np.count_nonzero(diff > 40)) / diff.size


def test_thinned_points_and_simplified_lines_look_the_same(window, monkeypatch, qtbot):
    from hatang_desktop.ui.map import points
    from hatang_desktop.ui.map.layers import base

    canvas = window.canvas
    canvas.layers["poles"].view_changed(0.0)  # poles drawn at full extent too: the densest case
    canvas.layers["poles"].set_visible(True)
    monkeypatch.setattr(points, "THIN_ABOVE", 10**9)
    monkeypatch.setattr(base, "lod_level", lambda _upp: None)
    exact = _render(canvas)
    drawn_exact = canvas.layers["poles"].scatter.last_drawn
    monkeypatch.undo()
    monkeypatch.setattr(points, "THIN_ABOVE", 1000)
    _render(canvas)  # asks for the simplified lines of this scale, built on the next turns
    from hatang_desktop.ui import turns

    qtbot.waitUntil(lambda: turns.pending() == 0, timeout=10_000)  # one route group per turn
    fast = _render(canvas)
    assert canvas.layers["poles"].scatter.last_drawn < drawn_exact  # it did thin
    assert any(item._levels for item in canvas.layers["routes"].groups.values())  # and simplify
    assert _differing_pixels(exact, fast) < 0.01


def test_only_points_in_view_are_painted(window):
    canvas = window.canvas
    sites = canvas.layers["sites"]
    s = sites.data
    canvas.zoom_to(Extent(float(s.x[0]) - 2000, float(s.y[0]) - 2000, float(s.x[0]) + 2000, float(s.y[0]) + 2000))
    _render(canvas)
    x0, y0, x1, y1 = _range(window)
    margin = 12 * canvas.metres_per_pixel()  # a symbol half outside the view still shows its half
    inside = ((s.x >= x0 - margin) & (s.x <= x1 + margin) & (s.y >= y0 - margin) & (s.y <= y1 + margin))
    strictly = (s.x >= x0) & (s.x <= x1) & (s.y >= y0) & (s.y <= y1)
    assert np.count_nonzero(strictly) <= sites.scatter.last_drawn <= np.count_nonzero(inside)
    assert sites.scatter.last_drawn < len(s) / 4


def test_export_scale_follows_the_view_and_the_page(window):
    from hatang_desktop.ui.export import page_scale, round_scale

    canvas = window.canvas
    n = page_scale(canvas, 800.0)
    # The province (~150 km across) on ~21 cm of A4 paper: hundreds of thousands.
    assert 2e5 < n < 3e6
    assert page_scale(canvas, 400.0) == pytest.approx(2 * n, rel=1e-6)  # half the paper, twice the N
    canvas.zoom_by(0.5)
    assert page_scale(canvas, 800.0) == pytest.approx(n / 2, rel=0.02)
    assert round_scale(48213.0) == 48000 and round_scale(712_345.0) == 710_000 and round_scale(0) == 0


def test_box_select_takes_only_what_the_map_draws(window):
    """Zoomed out, poles are not drawn: a box over the whole map selects sites and routes, not
    the poles nobody can see (a delete of the selection would have tombstoned them)."""
    window.canvas.zoom_full()
    assert not window.canvas.layers["poles"].is_drawn()
    found = window.select_box(window.canvas.view_extent())
    assert len(found["sites"]) > 0 and "poles" not in found
    window.canvas.zoom_to(_box_around_median(window, 1500))
    assert window.canvas.layers["poles"].is_drawn()
    found = window.select_box(_box_around_median(window, 1500))
    assert len(found["poles"]) > 0
    window.clear_selection()
