"""Tệp > Tải bản đồ nền… as a user does it, against a tile server on 127.0.0.1 the test starts:
pick the commune in the toolbar, open the dialog from the File menu, fill it, press Tải; the map
then shows the basemap with its attribution. Cancel midway and Tiếp tục finishes every tile; a
source that refuses (HTTP 403) is a message in the dialog and no file."""

from __future__ import annotations

import sqlite3
import sys

import pytest
from PySide6.QtWidgets import QApplication

from hatang_desktop.core.basemap.download import part_path
from hatang_desktop.core.basemap.tiles import tile_ranges, tms_row
from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.core.mbtiles import tiles_in_view, write_mbtiles
from hatang_desktop.ui.basemap_download_dialog import BasemapDownloadDialog
from hatang_desktop.ui.settings import LAST_BASEMAP, app_settings
from hatang_desktop.ui.strings import tr
from tests.core.test_mbtiles import solid_png
from tests.tile_server import TileServer

from . import walk

THANH_SEN = "18073"


@pytest.fixture
def slot_errors(monkeypatch):
    """Every exception raised in a slot (PySide hands it to sys.excepthook) fails the test."""
    caught = []
    previous = sys.excepthook
    monkeypatch.setattr(sys, "excepthook", lambda *info: (caught.append(info), previous(*info)))
    yield caught
    assert caught == [], [f"{t.__name__}: {v}" for t, v, _ in caught]


@pytest.fixture
def server():
    with TileServer(slow_s=0.15) as running:
        yield running


def _open_dialog(window, qtbot) -> BasemapDownloadDialog:
    """Click Tệp in the menu bar, then Tải bản đồ nền… in the menu that opens."""
    walk.activate(window)
    bar = window.menuBar()
    file_action = bar.actions()[0]
    walk.click(bar, pos=bar.actionGeometry(file_action).center())
    menu = file_action.menu()
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    item = next(a for a in menu.actions() if a.text() == tr("act_download_basemap"))
    walk.click(menu, pos=menu.actionGeometry(item).center())
    qtbot.waitUntil(lambda: bool(_dialogs(window)), timeout=5000)
    [dialog] = _dialogs(window)
    return dialog


def _dialogs(window) -> list[BasemapDownloadDialog]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, BasemapDownloadDialog) and w.isVisible() and w.parentWidget() is window]


def _fill(dialog, url: str, out, zooms: tuple[int, int], attribution: str = "") -> None:
    walk.choose(dialog.source, "__url__")
    walk.clear_text(dialog.url)
    walk.type_into(dialog.url, url)
    walk.clear_text(dialog.attribution)
    if attribution:
        walk.type_into(dialog.attribution, attribution)
    _zooms(dialog, *zooms)
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))


def _zooms(dialog, zmin: int, zmax: int) -> None:
    """Typed into the spin boxes, each entered with Tab (the estimate follows on entry)."""
    for spin, value in ((dialog.zmax, zmax), (dialog.zmin, zmin)):
        walk.clear_text(spin.lineEdit())
        walk.type_into(spin.lineEdit(), str(value))
        walk.press(spin, "Tab")


def _stored(path) -> set[tuple[int, int, int]]:
    conn = sqlite3.connect(path)
    try:
        return set(conn.execute("SELECT zoom_level, tile_column, tile_row FROM tiles"))
    finally:
        conn.close()


def _expected(dialog, zmin: int, zmax: int) -> set[tuple[int, int, int]]:
    return {(z, x, tms_row(z, y)) for r in tile_ranges(dialog.chosen_area().bbox, zmin, zmax) for z, x, y in r}


def test_download_from_the_file_menu_becomes_the_basemap_with_its_attribution(window, qtbot, tmp_path,
                                                                               server, slot_errors):
    server.slow_s = 0.0
    walk.activate(window)
    walk.choose(window.commune_combo, THANH_SEN)
    dialog = _open_dialog(window, qtbot)
    assert dialog.area.currentData() == "commune" and "Thành Sen" in dialog.area.currentText()
    assert (dialog.zmin.value(), dialog.zmax.value()) == (10, 17)  # a commune down to its lanes
    assert dialog.path.text().endswith("ban_do_nen_commune_18073.mbtiles")
    assert not dialog.download_button.isEnabled()  # no address yet: nothing to download
    out = tmp_path / "nền thành sen.mbtiles"
    _fill(dialog, server.url("ok"), out, (12, 15), "© Sở Nông nghiệp và Môi trường Hà Tĩnh")
    # The estimate follows the choices before anything is asked of the server.
    small = dialog.estimate_label.text()
    assert "ô ảnh" in small and "MB" in small and server.count("ok") == 0
    walk.clear_text(dialog.zmax.lineEdit())
    walk.type_into(dialog.zmax.lineEdit(), "16")
    walk.press(dialog.zmax, "Tab")
    assert dialog.estimate_label.text() != small
    walk.clear_text(dialog.zmax.lineEdit())
    walk.type_into(dialog.zmax.lineEdit(), "15")
    walk.press(dialog.zmax, "Tab")
    assert dialog.estimate_label.text() == small
    with qtbot.waitSignal(dialog.downloaded, timeout=60_000):
        walk.click(walk.button(dialog, "Tải"))
    assert _stored(out) == _expected(dialog, 12, 15)
    assert str(out) in dialog.message.text() and "Đã tải" in dialog.message.text()
    # The new file is the map's basemap, remembered as one opened by hand.
    source = window.canvas.basemap.source
    assert source is not None and source.path == out
    assert app_settings().value(LAST_BASEMAP) == str(out.resolve())
    assert window.act_close_basemap.isEnabled()
    walk.settle(100)
    assert window.canvas.basemap.tiles
    attribution = window.canvas.attribution
    assert attribution.isVisible() and attribution.text == "© Sở Nông nghiệp và Môi trường Hà Tĩnh"
    # Drawn: dark text on the light band at the bottom-right corner of the map.
    image = window.canvas.grab().toImage()
    w, h = image.width(), image.height()
    band_w = int(attribution.boundingRect().width())
    dark = sum(image.pixelColor(x, y).lightness() < 110
               for x in range(w - band_w, w) for y in range(h - 14, h - 3))
    assert band_w > 100 and dark > 30
    # The map's labels keep clear of it, as of the scale bar.
    boxes = window.canvas._overlay_boxes()
    assert any(b.right() >= window.canvas.viewport().width() - 2 and b.bottom() >= h - 2 for b in boxes)


def _start_for_thanh_sen(window, qtbot, url: str, out):
    """Thành Sen chosen in the toolbar, the dialog filled for zooms 12-15, Tải pressed."""
    walk.activate(window)
    walk.choose(window.commune_combo, THANH_SEN)
    dialog = _open_dialog(window, qtbot)
    _fill(dialog, url, out, (12, 15))
    walk.click(walk.button(dialog, "Tải"))
    return dialog, _expected(dialog, 12, 15)


def test_cancel_midway_then_resume_fetches_every_tile(window, qtbot, tmp_path, server, slot_errors):
    out = tmp_path / "nen.mbtiles"
    dialog, expected = _start_for_thanh_sen(window, qtbot, server.url("slow"), out)
    assert len(expected) > 40
    qtbot.waitUntil(lambda: server.count("slow") >= 12, timeout=30_000)
    assert dialog.bar.isVisible() and not dialog.area.isEnabled() and not dialog.browse.isEnabled()
    assert dialog.download_button.text() == "Tải" and not dialog.download_button.isEnabled()
    with qtbot.waitSignal(dialog._job.signals.cancelled, timeout=30_000):
        walk.click(walk.button(dialog, "Hủy"))
    walk.settle()
    assert not out.exists() and part_path(out).exists()
    kept = _stored(part_path(out))
    assert 0 < len(kept) < len(expected)
    assert "Tiếp tục" in dialog.message.text()
    asked_before = server.count("slow")
    assert dialog.download_button.text() == "Tiếp tục" and dialog.download_button.isEnabled()
    with qtbot.waitSignal(dialog.downloaded, timeout=60_000):
        walk.click(walk.button(dialog, "Tiếp tục"))
    assert _stored(out) == expected and not part_path(out).exists()
    # The tiles kept were not asked again (a request cut short by Hủy may be).
    assert server.count("slow") - asked_before <= len(expected) - len(kept) + 8
    assert window.canvas.basemap.source.path == out


def test_a_refusing_source_is_a_message_in_the_dialog_and_no_file(window, qtbot, tmp_path, server, slot_errors):
    dialog = _open_dialog(window, qtbot)
    out = tmp_path / "cam.mbtiles"
    _fill(dialog, server.url("forbidden"), out, (12, 13))
    walk.click(walk.button(dialog, "Tải"))
    qtbot.waitUntil(lambda: dialog._job is None, timeout=30_000)
    text = dialog.message.text()
    assert "HTTP 403" in text and "từ chối" in text and "Traceback" not in text
    assert not out.exists() and not part_path(out).exists()
    assert window.canvas.basemap.source is None
    assert dialog.download_button.text() == "Tải" and dialog.download_button.isEnabled()


def test_the_missing_tiles_note_follows_the_view(window, qtbot, tmp_path, slot_errors):
    """Seen in a session: "Bản đồ nền: thiếu 88 ô…" stayed after zooming to a commune whose tiles
    the file holds. The note is about the view shown, and a file's own bounds are not 'missing'."""
    commune = next(c for c in window.communes if c.code == THANH_SEN)
    b = commune.bounds
    keys = tiles_in_view(12, b.min_x, b.min_y, b.max_x, b.max_y)
    path = write_mbtiles(tmp_path / "ts.mbtiles", {(k.z, k.x, k.y): solid_png((40, 160, 40), 32) for k in keys})
    assert window.open_basemap(path)
    window.canvas.zoom_full()  # the province: tiles at zoom 12 only around Thành Sen
    window.canvas.refresh_basemap()
    assert "thiếu" in window.statusBar().currentMessage()
    walk.activate(window)
    walk.choose(window.commune_combo, THANH_SEN)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "", timeout=5000)
    assert window.canvas.basemap.tiles and not window.canvas.basemap.missing
    # A file that says which area it covers: the province around it is not "missing" tiles.
    conn = sqlite3.connect(path)
    (west, east), (south, north) = mercator_to_lonlat([b.min_x, b.max_x], [b.min_y, b.max_y])
    conn.execute("INSERT INTO metadata VALUES ('bounds', ?)", (f"{west},{south},{east},{north}",))
    conn.commit()
    conn.close()
    assert window.open_basemap(path)
    window.canvas.zoom_full()
    window.canvas.refresh_basemap()
    assert not window.canvas.basemap.missing and "thiếu" not in window.statusBar().currentMessage()


def test_the_composed_basemap_draws_what_the_tiles_draw(window, qtbot, tmp_path, monkeypatch):
    """A pan paints the view's tiles composed once into one image (a blit); what reaches the
    screen is what drawing every tile does, before and after a pan, to within a pixel's shift."""
    from hatang_desktop.ui.map import basemap as basemap_module

    commune = next(c for c in window.communes if c.code == THANH_SEN)
    b = commune.bounds
    keys = tiles_in_view(16, b.min_x, b.min_y, b.max_x, b.max_y)  # drawn at about their own size
    path = write_mbtiles(tmp_path / "blocks.mbtiles", {(k.z, k.x, k.y): _blocks_png(k.x * 7 + k.y) for k in keys})
    assert window.open_basemap(path)
    for layer in window.canvas.layers.values():  # the basemap alone
        layer.set_visible(False)
    cx, cy = (b.min_x + b.max_x) / 2, (b.min_y + b.max_y) / 2
    window.canvas.view.setRange(xRange=(cx - 1500, cx + 1500), yRange=(cy - 1500, cy + 1500), padding=0)
    window.canvas.refresh_basemap()

    def shot():
        window.canvas.grab()  # a first paint at this scale: the next one composes
        return window.canvas.grab().toImage()

    def differing(a, c) -> float:
        step, n, bad = 3, 0, 0
        for x in range(0, a.width(), step):
            for y in range(0, a.height(), step):
                n += 1
                bad += abs(a.pixelColor(x, y).lightness() - c.pixelColor(x, y).lightness()) > 40
        return bad / n

    for pan in (0.0, 237.3):
        window.canvas.view.translateBy(x=pan)
        walk.settle()
        composed = shot()
        assert window.canvas.basemap._composed is not None
        monkeypatch.setattr(basemap_module, "COMPOSE_MAX_PX", 0)  # tile by tile
        direct = shot()
        monkeypatch.setattr(basemap_module, "COMPOSE_MAX_PX", 4096)
        # Blocks of ~16 screen px: a shift of 8 px changes ~25% of the pixels; the same drawing 0-2%.
        assert differing(composed, direct) < 0.12


def _blocks_png(seed: int) -> bytes:
    """A 256-px tile of 32-px blocks of light and dark grey: any shift shows."""
    import random

    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QColor, QImage, QPainter

    rng = random.Random(seed)
    image = QImage(256, 256, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    for bx in range(8):
        for by in range(8):
            painter.fillRect(bx * 32, by * 32, 32, 32, QColor.fromHsl(0, 0, rng.choice((40, 215))))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def test_only_the_enabled_presets_are_offered(window, qtbot, tmp_path, server, monkeypatch, slot_errors):
    """A preset whose terms forbid offline copies is not in the list; an enabled one downloads
    with its own attribution, the address fields then unused."""
    from hatang_desktop.core.basemap import sources

    listing = tmp_path / "sources.yaml"
    listing.write_text(f"""sources:
  - name: so_ht
    title: Bản đồ nền của Sở (thử)
    url: {server.url("ok")}
    attribution: "© Sở Hà Tĩnh (thử)"
    offline: true
  - name: osm
    title: OpenStreetMap Standard
    url: https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png
    offline: false
""", encoding="utf-8")
    monkeypatch.setattr(sources, "sources_file", lambda: listing)
    server.slow_s = 0.0
    dialog = _open_dialog(window, qtbot)
    names = [dialog.source.itemText(i) for i in range(dialog.source.count())]
    assert names == ["Bản đồ nền của Sở (thử)", "Địa chỉ do Sở cung cấp (URL)"]
    walk.choose(dialog.source, "so_ht")
    assert not dialog.url.isEnabled() and not dialog.attribution.isEnabled()
    assert "ô ảnh" in dialog.estimate_label.text()
    out = tmp_path / "so.mbtiles"
    walk.clear_text(dialog.path)
    walk.type_into(dialog.path, str(out))
    _zooms(dialog, 11, 12)
    with qtbot.waitSignal(dialog.downloaded, timeout=60_000):
        walk.click(walk.button(dialog, "Tải"))
    assert window.canvas.attribution.text == "© Sở Hà Tĩnh (thử)"


def test_the_network_lost_midway_is_a_message_and_resumes_later(window, qtbot, tmp_path, slot_errors):
    """The tile server goes away mid-download: after the core's retries the dialog says so (no
    traceback), keeps the tiles and offers Tiếp tục; with the server back, Tiếp tục finishes."""
    server = TileServer(slow_s=0.1)
    server.thread.start()
    port = server.port
    out = tmp_path / "mat_mang.mbtiles"
    dialog, expected = _start_for_thanh_sen(window, qtbot, server.url("slow"), out)
    qtbot.waitUntil(lambda: server.count("slow") >= 8, timeout=30_000)
    server.__exit__(None, None, None)  # the network is gone
    qtbot.waitUntil(lambda: dialog._job is None, timeout=90_000)
    text = dialog.message.text()
    assert "tải ô ảnh không được" in text and "Tiếp tục" in text and "Traceback" not in text
    assert not out.exists() and part_path(out).exists()
    assert dialog.download_button.text() == "Tiếp tục"
    with TileServer(port=port, slow_s=0.0):  # back, at the same address
        with qtbot.waitSignal(dialog.downloaded, timeout=60_000):
            walk.click(walk.button(dialog, "Tiếp tục"))
    assert _stored(out) == expected


def test_a_new_view_fills_in_over_a_few_ticks_without_freezing_one(window, qtbot, tmp_path, monkeypatch,
                                                                  slot_errors):
    """The basemap's timer decodes new tiles for a few milliseconds per tick and comes back for
    the rest: with no time at all per tick, one tile a tick, and the view still ends up whole."""
    from hatang_desktop.ui.map import canvas as canvas_module

    commune = next(c for c in window.communes if c.code == THANH_SEN)
    b = commune.bounds
    keys = tiles_in_view(13, b.min_x, b.min_y, b.max_x, b.max_y)
    path = write_mbtiles(tmp_path / "z13.mbtiles", {(k.z, k.x, k.y): solid_png((40, 160, 40), 32) for k in keys})
    assert window.open_basemap(path)
    monkeypatch.setattr(canvas_module, "BASEMAP_STEP_S", 0.0)
    item = window.canvas.basemap
    calls = []
    update = item.update_view
    monkeypatch.setattr(item, "update_view", lambda *a: calls.append(update(*a)) or calls[-1])
    item._decoded.clear()
    walk.activate(window)
    walk.choose(window.commune_combo, THANH_SEN)  # the view moves: the timer takes over
    qtbot.waitUntil(lambda: bool(calls) and calls[-1], timeout=20_000)
    shown = {k for k, _ in item.tiles}
    assert len(shown) > 4 and shown <= set(keys) and not item.missing
    assert calls.count(False) >= len(shown) - 1  # one new tile per tick
    assert "thiếu" not in window.statusBar().currentMessage()
