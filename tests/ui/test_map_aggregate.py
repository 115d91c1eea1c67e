"""The country at once (ui/map/aggregate.py): beyond AGGREGATE_MPP the map draws the sites as a
density and the routes and commune outlines as images. They must show what the detailed items
show: every live site counted, the same lines inked, an added site counted after its edit."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from sqlalchemy import text

from hatang_desktop.core.map_aggregate import density
from hatang_desktop.ui.map.aggregate import AGGREGATE_MPP, aggregate_level
from hatang_desktop.ui.strings import tr

from . import walk

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def count(db, sql):
    with db.session() as s:
        return s.execute(text(sql)).scalar()


def render(canvas) -> QImage:
    """One full paint of the canvas, as a screen refresh would do."""
    image = QImage(canvas.width(), canvas.height(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    canvas.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    return image


def zoom_out_to_country(window):
    """Press "-" on the map until the view is as far out as a whole country on screen."""
    window.canvas.setFocus()
    for _ in range(16):
        if window.canvas.metres_per_pixel() >= AGGREGATE_MPP:
            return
        walk.press(window.canvas, "-")
        walk.settle()
    if window.canvas.metres_per_pixel() >= AGGREGATE_MPP:
        return
    raise AssertionError(f"still {window.canvas.metres_per_pixel():.0f} m per pixel")


def test_density_counts_every_point_in_its_cell():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(1.1e7, 1.2e7, 5000), rng.uniform(1.0e6, 2.5e6, 5000)
    group = rng.integers(0, 3, 5000)
    d = density(x, y, 4096.0, group, 3)
    assert d.total == 5000
    assert [int(v) for v in d.counts.sum(axis=(0, 1))] == [int((group == k).sum()) for k in range(3)]
    for i in rng.choice(5000, 20, replace=False):
        same_cell = ((x // 4096 == x[i] // 4096) & (y // 4096 == y[i] // 4096)).sum()
        assert d.count_at(x[i], y[i]) == same_cell
    assert d.count_at(0.0, 0.0) == 0


def test_country_view_counts_every_site_and_draws_no_symbol(window):
    canvas = window.canvas
    sites = canvas.layers["sites"]
    zoom_out_to_country(window)
    level = aggregate_level(canvas.metres_per_pixel())
    render(canvas)
    assert sites.scatter.last_drawn == 0  # no symbol per site at this scale
    assert sites.density.builds >= 1
    live = count(window.db, "SELECT count(*) FROM sites WHERE deleted = 0")
    assert sites.density.density(level).total == live == len(sites.data)
    # Poles are not drawn this far out, detailed or aggregated, and a click does not pick one.
    assert not canvas.layers["poles"].is_drawn()
    # The operator filter reaches the density: only that operator's sites are counted.
    from hatang_desktop.ui.map.layers import LayerFilter

    canvas.set_filter(LayerFilter(operators=frozenset({"VNPT"})))
    vnpt = count(window.db, "SELECT count(*) FROM sites WHERE deleted = 0 AND (operator_code = 'VNPT' OR uuid IN "
                            "(SELECT site_uuid FROM site_tenants WHERE deleted = 0 AND operator_code = 'VNPT'))")
    assert sites.density.density(level).total == vnpt < live


def ink(image: QImage) -> np.ndarray:
    """Where the image differs from the map's background (top-left pixel), as a bool mask."""
    ptr = image.constBits()
    a = np.frombuffer(ptr, np.uint8, image.sizeInBytes()).reshape(image.height(), image.bytesPerLine() // 4, 4)
    a = a[:, :image.width()].astype(int)
    return np.abs(a - a[0, 0]).sum(axis=2) > 40


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-px, px + 1):
        for dx in range(-px, px + 1):
            out |= np.roll(np.roll(mask, dy, axis=0), dx, axis=1)
    return out


def test_line_images_ink_where_the_detailed_lines_do(window, qtbot):
    canvas = window.canvas
    zoom_out_to_country(window)
    only = {"routes", "boundaries"}
    for key, layer in canvas.layers.items():
        if key not in only:
            layer.set_visible(False)
    boundaries = canvas.layers["boundaries"]
    boundaries.land.setVisible(False)
    boundaries.labels.setVisible(False)
    routes = canvas.layers["routes"]
    images = (routes.raster, boundaries.communes_raster)
    render(canvas)  # asks for the images: they are stroked on a worker thread
    mpp = canvas.metres_per_pixel()
    qtbot.waitUntil(lambda: all(item.ready(mpp) for item in images), timeout=10_000)
    aggregated = ink(render(canvas))
    assert all(item.covers(mpp) for item in images)
    # The same view drawn by the detailed items: the images off, the lines' own paint on.
    for item in images:
        item.setVisible(False)  # the sources draw themselves again
    detailed = ink(render(canvas))
    assert detailed.sum() > 200
    # Every detailed pixel has aggregated ink within 2 px, and the other way round.
    assert (detailed & ~grow(aggregated, 2)).sum() <= 0.02 * detailed.sum()
    assert (aggregated & ~grow(detailed, 2)).sum() <= 0.02 * aggregated.sum()


def test_a_site_added_with_the_tool_is_counted_after_its_edit(window):
    walk.activate(window)
    canvas = window.canvas
    sites = canvas.layers["sites"]
    code, lon0, lat0 = (count(window.db, "SELECT site_code FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1"),
                        *[count(window.db, f"SELECT {c} FROM sites WHERE deleted = 0 ORDER BY id LIMIT 1")
                          for c in ("lon", "lat")])
    zoom_out_to_country(window)
    level = aggregate_level(canvas.metres_per_pixel())
    render(canvas)  # the density counted and drawn before the edit
    before = sites.density.density(level).total
    builds = sites.density.builds

    walk.search_and_go(window, code)  # back to working scale, where a user adds a site
    lon, lat = lon0 + 0.002, lat0 + 0.0015
    walk.press(window, "Ctrl+1")

    def fill_site(d):
        f = d.form_widget.fields
        walk.type_into(f["site_code"].edit, "HT-AGG-001")
        walk.choose(f["operator_code"].combo, "VNPT")
        walk.type_into(f["name"].edit, "Trạm tổng hợp")
        walk.click(walk.button(d, tr("form_save")))
        assert not d.isVisible(), [e.text() for e in d.form_widget.errors.values() if e.text()]

    waiting = walk.when_modal(fill_site)
    walk.click_map(window, lon, lat)
    waiting.done()
    walk.press(window, "Escape")
    uuid = count(window.db, "SELECT uuid FROM sites WHERE site_code = 'HT-AGG-001' AND deleted = 0")
    assert uuid is not None and sites.index_of(uuid) is not None

    zoom_out_to_country(window)
    level = aggregate_level(canvas.metres_per_pixel())
    render(canvas)
    after = sites.density.density(level)
    assert after.total == before + 1 == count(window.db, "SELECT count(*) FROM sites WHERE deleted = 0")
    assert sites.density.builds > builds  # the image was made again, not the old one shown
    i = sites.index_of(uuid)
    x, y = float(sites.data.x[i]), float(sites.data.y[i])
    others = sites.data.x != x
    cell = after.cell
    same = ((sites.data.x[others] - after.x0) // cell == (x - after.x0) // cell) & (
        (sites.data.y[others] - after.y0) // cell == (y - after.y0) // cell)
    assert after.count_at(x, y) == int(same.sum()) + 1


def test_the_legend_shows_the_density_ramp_the_country_view_draws(window):
    """Zoomed out, the sites are blue cells, not operator colours: the layer panel says so, with a
    swatch running from the ramp's light end to its dark end."""
    from hatang_desktop.ui.layer_panel import SWATCH
    from hatang_desktop.ui.map.aggregate import DENSITY_DARK, DENSITY_LIGHT

    tree = window.layer_panel.tree
    sites = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if tree.topLevelItem(i).data(0, 256) == "sites")
    rows = [sites.child(i) for i in range(sites.childCount())]
    [row] = [r for r in rows if r.text(0) == tr("legend_site_density")]
    swatch = row.icon(0).pixmap(SWATCH, SWATCH).toImage()
    left, right = swatch.pixelColor(3, SWATCH // 2), swatch.pixelColor(SWATCH - 4, SWATCH // 2)
    near = lambda c, rgb: max(abs(c.red() - rgb[0]), abs(c.green() - rgb[1]), abs(c.blue() - rgb[2])) < 40  # noqa: E731
    assert near(left, DENSITY_LIGHT) and near(right, DENSITY_DARK), (left.name(), right.name())


def test_a_printed_country_map_lists_the_density_not_the_symbols(window, monkeypatch, tmp_path):
    """Tệp > Xuất bản đồ… (Alt+T, F) at province scale lists the sites' symbols; zoomed out to the
    country the page's map shows blue cells, and its legend lists the density and none of the symbols."""
    import subprocess

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from tests.ui.test_every_action import FileDialogs

    dialogs = FileDialogs(monkeypatch)
    tower = "Cột dây co"  # a tower type: a site symbol, in no other layer's legend
    pages = {}
    for name in ("province", "country"):
        if name == "country":
            zoom_out_to_country(window)
        pdf = tmp_path / f"{name}.pdf"
        dialogs.answers.append(str(pdf))
        QTest.keyClick(window, Qt.Key_T, Qt.AltModifier)
        walk.settle(20)
        QTest.keyClick(window.menuBar().actions()[0].menu(), Qt.Key_F)
        walk.settle(50)
        assert pdf.exists(), dialogs.calls
        pages[name] = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                     check=True).stdout
    assert tower in pages["province"] and tr("legend_site_density") not in pages["province"]
    assert tower not in pages["country"] and tr("legend_site_density") in pages["country"]
    # Poles are drawn only zoomed in to a street or so: neither page lists them.
    assert not any("Cột dùng chung" in page for page in pages.values())


def test_a_long_path_is_stroked_in_pieces_with_the_same_lines(qapp):
    """A worker strokes a coarse tile in pieces of about PIECE_VERTICES vertices (PySide holds
    the GIL through a drawPath): the pieces hold the same subpaths, and ink the same pixels."""
    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPen

    from hatang_desktop.ui.map import aggregate

    rng = np.random.default_rng(3)
    n, run = 20_000, 37
    x, y = np.cumsum(rng.normal(size=n)), np.cumsum(rng.normal(size=n))
    connect = np.ones(n, np.ubyte)
    connect[run - 1::run] = 0
    connect[-1] = 0  # the last vertex ends its line, as in every layer
    path = pg.arrayToQPath(x, y, connect=connect)
    pieces = aggregate.pieces(path)
    assert len(pieces) > 3 and all(p.elementCount() <= aggregate.PIECE_VERTICES for p in pieces)
    whole = [[(pt.x(), pt.y()) for pt in poly] for poly in path.toSubpathPolygons()]
    cut = [[(pt.x(), pt.y()) for pt in poly] for p in pieces for poly in p.toSubpathPolygons()]
    assert cut == whole
    # A tile's path cut from the arrays it was made of (what the worker does: no
    # toSubpathPolygons over the whole path), as tiles keep them.
    from hatang_desktop.ui.map.layers.base import Tiles, TiledPathItem

    from_arrays = Tiles(np.zeros((1, 4)), [path], [(x, y, connect)]).pieces(0, aggregate.PIECE_VERTICES)
    assert len(from_arrays) > 3 and all(p.elementCount() <= aggregate.PIECE_VERTICES for p in from_arrays)
    assert [[(pt.x(), pt.y()) for pt in poly] for p in from_arrays for poly in p.toSubpathPolygons()] == whole
    tiles = TiledPathItem._make_tiles(x, y, connect)
    assert len(tiles) > 1 and len(tiles.arrays) == len(tiles)
    for made, (tx, ty, tc) in zip(tiles.paths, tiles.arrays):
        again = pg.arrayToQPath(tx, ty, connect=tc)
        assert again.elementCount() == made.elementCount() and again.boundingRect() == made.boundingRect()

    def ink(paths) -> np.ndarray:
        image = QImage(400, 400, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        painter = QPainter(image)
        painter.setPen(QPen(Qt.GlobalColor.black, 1.5))
        box = path.boundingRect()
        painter.scale(399 / box.width(), 399 / box.height())
        painter.translate(-box.left(), -box.top())
        for p in paths:
            painter.drawPath(p)
        painter.end()
        return np.frombuffer(image.constBits(), np.uint8).reshape(400, 400, 4)[..., 3] > 0

    assert np.array_equal(ink(pieces), ink([path]))
    assert np.array_equal(ink(from_arrays), ink([path]))


def test_a_map_opened_at_country_scale_is_first_painted_with_its_line_images(qtbot, sample_db_path):
    """Opened in a map small enough for its full extent to be drawn from aggregates, the map
    waits for its line images (rendered on a worker) before it may paint, rather than stroking
    every line on the GUI thread first."""
    from hatang_desktop.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.layer_panel.hide()
    window.identify_panel.hide()
    canvas = window.canvas
    canvas.setMaximumSize(240, 200)
    window.show()
    qtbot.waitExposed(window)
    images = (canvas.layers["routes"].raster, canvas.layers["boundaries"].communes_raster)
    when_enabled = []
    enable = canvas.setUpdatesEnabled

    def set_updates_enabled(on):  # the map painting again: what is ready by then
        if on:
            mpp = canvas.metres_per_pixel()
            when_enabled.append((mpp, [item.ready(mpp) for item in images]))
        enable(on)

    canvas.setUpdatesEnabled = set_updates_enabled
    with qtbot.waitSignal(window.load_finished, timeout=30000):
        window.open_database(sample_db_path)
    (mpp, ready), = when_enabled
    assert mpp >= AGGREGATE_MPP, f"the test map is too big for a view drawn from aggregates ({mpp:.0f} m/px)"
    assert ready == [True, True]


def test_a_band_on_its_way_is_drawn_from_the_next_band_not_stroked_line_by_line(window, qtbot):
    """Zoomed out one band further, the lines' image for the new band is rendered on a worker;
    meanwhile the image of the band before is drawn scaled (the lines where they were), not
    every line stroked on the GUI thread, and the band's own image replaces it once there."""
    canvas = window.canvas
    zoom_out_to_country(window)
    for key, layer in canvas.layers.items():
        if key not in ("routes", "boundaries"):
            layer.set_visible(False)
    boundaries = canvas.layers["boundaries"]
    boundaries.land.setVisible(False)
    boundaries.labels.setVisible(False)
    images = (canvas.layers["routes"].raster, boundaries.communes_raster)
    render(canvas)
    mpp = canvas.metres_per_pixel()
    qtbot.waitUntil(lambda: all(item.ready(mpp) for item in images), timeout=10_000)
    before = ink(render(canvas))

    canvas.setFocus()
    walk.press(canvas, "-")   # one band out: its image is not there yet
    coarser = canvas.metres_per_pixel()
    assert aggregate_level(coarser) == aggregate_level(mpp) + 1
    assert not any(item.ready(coarser) for item in images)
    # The band before stands in: the lines' own items skip their paint (TiledPathItem.paint).
    assert all(item.covers(coarser) for item in images)
    meanwhile = ink(render(canvas))
    assert meanwhile.sum() > 0.3 * before.sum() * (mpp / coarser) ** 2
    qtbot.waitUntil(lambda: all(item.ready(coarser) for item in images), timeout=10_000)
    own = ink(render(canvas))
    # The stand-in inked where the band's own image does (within 2 px), and the other way round.
    assert (own & ~grow(meanwhile, 2)).sum() <= 0.05 * own.sum()
    assert (meanwhile & ~grow(own, 2)).sum() <= 0.05 * meanwhile.sum()


@pytest.mark.parametrize("groups", [1, 3])
def test_the_density_image_colours_each_cell_by_its_count(qapp, groups):
    """Only the cells holding points are coloured (the rest of the grid stays clear): each
    pixel is the ramp's colour for its cell's count, the north at the top."""
    import math

    from PySide6.QtGui import QColor

    from hatang_desktop.ui.map.aggregate import DENSITY_DARK, DENSITY_LIGHT, DensityItem

    rng = np.random.default_rng(7)
    x = np.r_[rng.normal(0, 3e4, 3000), rng.uniform(-2e5, 2e5, 500)]
    y = np.r_[rng.normal(0, 3e4, 3000), rng.uniform(-1e5, 3e5, 500)]
    group = rng.integers(0, groups, len(x))
    item = DensityItem(0)
    item.set_points(x, y, group, [QColor("red"), QColor("green"), QColor("blue")][:groups])
    level = 13
    image, rect = item._make(level)
    d = density(x, y, 2.0 ** level)
    counts = d.per_cell()[::-1]   # image row 0 is the north
    assert (image.height(), image.width()) == counts.shape
    assert rect == QRectF(d.x0, d.y0, counts.shape[1] * d.cell, counts.shape[0] * d.cell)
    a = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1, 4)
    a = a[:, :image.width()]
    assert not a[counts == 0].any()   # empty cells: fully transparent
    top = max(float(np.percentile(counts[counts > 0], 98)), 2.0)
    light, dark = ((np.array(QColor("red").getRgb()[:3], float),) * 2 if groups == 1 else
                   (np.array(DENSITY_LIGHT, float), np.array(DENSITY_DARK, float)))
    for row, col in zip(*np.nonzero(counts)):
        t = min(max(math.log(max(counts[row, col], 1)) / math.log(top), 0.0), 1.0)
        alpha = 0.5 + 0.45 * t
        rgb = (light + (dark - light) * t) * alpha
        assert tuple(a[row, col]) == (int(rgb[2]), int(rgb[1]), int(rgb[0]), int(alpha * 255))


def test_a_new_density_band_is_coloured_off_the_gui_thread_beside_a_stand_in(qapp, qtbot, monkeypatch):
    """With the next band's image there, a missing band's image is coloured on a worker and the
    next band's stands in meanwhile; points set anew make a job still running stale."""
    from PySide6.QtGui import QColor

    from hatang_desktop.ui.map.aggregate import DensityItem

    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 5e4, 5000), rng.normal(0, 5e4, 5000)
    item = DensityItem(0)
    item.set_points(x, y, np.zeros(len(x), np.int64), [QColor("red")])
    first = item.image(12)   # nothing to stand in: made now
    assert first is not None and item.builds == 1
    meanwhile = item.image(11)
    assert meanwhile is first and (item._generation, 11) in item._pending   # band 12 stands in
    qtbot.waitUntil(lambda: 11 in item._images, timeout=10_000)
    own = item.image(11)
    assert own is not first and item.builds == 2
    reference = DensityItem(0)
    reference.set_points(x, y, np.zeros(len(x), np.int64), [QColor("red")])
    assert own[0] == reference._make(11)[0] and own[1] == reference._make(11)[1]
    # New points while a band is on its way: the old job's image is not kept.
    import threading

    from hatang_desktop.ui.map import aggregate

    go, done = threading.Event(), threading.Event()
    real = aggregate._density_image

    def held(*args):   # the job finishes only once the new points are set
        go.wait(10)
        try:
            return real(*args)
        finally:
            done.set()

    monkeypatch.setattr(aggregate, "_density_image", held)
    item.image(13)
    item.set_points(x[:10], y[:10], np.zeros(10, np.int64), [QColor("red")])
    go.set()
    assert done.wait(10)
    qtbot.wait(100)   # its result delivered on the GUI thread
    assert 13 not in item._images and item.builds == 2 and not item._pending
