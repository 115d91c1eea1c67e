from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QGraphicsPathItem, QMessageBox

from hatang_desktop.core.map_data import read_sites
from hatang_desktop.core.storage.database import Database
from hatang_desktop.ui import file_dialogs, strings
from hatang_desktop.ui.main_window import MainWindow


def _has_data(item) -> bool:
    if hasattr(item, "is_empty"):  # TiledPathItem, PointCloudItem
        return not item.is_empty()
    if isinstance(item, QGraphicsPathItem):
        return not item.path().isEmpty()
    return len(item) > 0  # LabelSetItem


def test_window_opens_on_sample(window):
    assert "Hà Tĩnh" in window.windowTitle()
    assert "300 trạm" in window.counts_label.text()
    assert window.menuBar().actions()[0].text() == "&Tệp"
    assert window.identify_panel.heading() == strings.tr("identify_hint")


def test_every_layer_has_data(window):
    for key, layer in window.canvas.layers.items():
        if key == "tracks":
            continue  # none in the sample: the inspector records one (tests/ui/test_gps_track_ui.py)
        assert layer.feature_count() > 0, key
        assert any(_has_data(item) for item in layer.items), key
    assert len(window.canvas.layers["boundaries"].labels) > 0


def test_toggling_a_layer_hides_it(window, qtbot):
    sites = window.canvas.layers["sites"]
    assert all(item.isVisible() for item in sites.items)
    window.layer_panel.set_checked("sites", False)
    assert not any(item.isVisible() for item in sites.items)
    window.layer_panel.set_checked("sites", True)
    assert all(item.isVisible() for item in sites.items)


def _labels_painted(window):
    labels = window.canvas.layers["boundaries"].labels
    window.canvas.grab()
    return labels.last_drawn


def test_commune_labels_thin_out_when_zoomed_out(window):
    labels = window.canvas.layers["boundaries"].labels
    window.canvas.zoom_by(2.0)
    far = labels.shown_count()
    assert 0 < len(_labels_painted(window)) == far  # zoomed far out, every placed name is in view
    window.canvas.zoom_full()
    window.canvas.zoom_by(0.1)
    near = labels.shown_count()
    assert far < near
    # No two names painted at one zoom overlap on screen.
    view = window.canvas.view
    boxes = []
    for i in _labels_painted(window):
        p = view.mapViewToDevice(QPointF(*labels.xy[i]))
        w, h = labels.wh[i]
        boxes.append((p.x() - w / 2, p.y() - h / 2, p.x() + w / 2, p.y() + h / 2))
    assert boxes
    for a in range(len(boxes)):
        for b in range(a + 1, len(boxes)):
            A, B = boxes[a], boxes[b]
            assert A[2] <= B[0] or B[2] <= A[0] or A[3] <= B[1] or B[3] <= A[1]
    # Zoomed out to a whole country's scale, commune names are not drawn at all.
    window.canvas.zoom_full()
    window.canvas.zoom_by(16.0)
    assert labels.shown_count() == 0 and _labels_painted(window) == []


def _site(window, i=0):
    with Database.open(window.db.path, readonly=True) as db:
        sites = read_sites(db)
    return sites.uuid[i], float(sites.x[i]), float(sites.y[i])


def test_identify_at_a_site(window):
    uuid, x, y = _site(window, 5)
    feature = window.identify_at(x, y, 20.0)
    assert feature.table == "sites" and feature.uuid == uuid
    assert window.identify_panel.heading() == "Trạm BTS"  # forms/sites.yaml's label
    text = window.identify_panel.view.toPlainText()
    assert feature.attributes["site_code"] in text and "Doanh nghiệp" in text
    # The commune by name, with its code, under the form's label.
    a = feature.attributes
    assert f"Xã/phường\n{a['commune_name']} ({a['commune_code']})" in text
    assert window.canvas.highlight_point.isVisible()


def test_click_on_the_map_identifies(window, qtbot):
    uuid, x, y = _site(window, 7)
    canvas = window.canvas
    canvas.view.setRange(xRange=(x - 500, x + 500), yRange=(y - 500, y + 500), padding=0)
    qtbot.wait(10)
    scene_pos = canvas.view.mapViewToScene(QPointF(x, y))
    with qtbot.waitSignal(canvas.feature_clicked, timeout=2000):
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                         pos=canvas.mapFromScene(scene_pos))
    assert window.identify_panel.feature.uuid == uuid


def test_status_bar_shows_position(window):
    _, x, y = _site(window)
    window.canvas.cursor_moved.emit(x, y)
    text = window.position_label.text()
    assert text.startswith("Vị trí:") and "°" in text and "N" in text and "E" in text


def test_view_actions_change_the_view(window):
    full = window.canvas.view.viewRange()
    window.act_zoom_in.trigger()
    assert window.canvas.view.viewRange()[0][1] - window.canvas.view.viewRange()[0][0] < full[0][1] - full[0][0]
    window.act_zoom_out.trigger()
    window.act_zoom_out.trigger()
    window.act_full.trigger()
    assert np.ravel(window.canvas.view.viewRange()) == pytest.approx(np.ravel(full), rel=1e-6)


def test_open_action_loads_the_chosen_file_in_the_background(window, qtbot, monkeypatch, sample_db_path):
    monkeypatch.setattr(file_dialogs, "open_file_name", lambda *a, **k: (str(sample_db_path), ""))
    with qtbot.waitSignal(window.load_finished, timeout=20000) as blocker:
        window.act_open.trigger()
        assert window.progress.isVisible()  # the load runs off the GUI thread, with progress
    assert blocker.args == [True]
    assert window.db is not None and Path(window.db.path) == sample_db_path
    assert not window.progress.isVisible()
    assert window.canvas.layers["sites"].feature_count() == 300


def test_bad_file_shows_message_and_keeps_the_map(window, qtbot, monkeypatch, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("không phải cơ sở dữ liệu")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, title, text: shown.append((title, text)))
    with qtbot.waitSignal(window.load_finished, timeout=20000) as blocker:
        window.open_database(bad)
    assert blocker.args == [False]
    assert shown and "không phải tệp cơ sở dữ liệu" in shown[0][1]
    assert window.db is not None  # the database already open stays open
    assert bad.read_text() == "không phải cơ sở dữ liệu"  # nothing written


def test_bad_file_in_the_foreground_empties_the_map(window, monkeypatch, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("không phải cơ sở dữ liệu")
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda _parent, title, text: shown.append((title, text)))
    assert window.open_database(bad, background=False) is False
    assert shown and "không phải tệp cơ sở dữ liệu" in shown[0][1]
    assert window.db is None
    assert window.canvas.layers["sites"].feature_count() == 0
    assert window.commune_combo.count() == 0


def test_about_action(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda _parent, title, text: shown.append(text))
    window.act_about.trigger()
    assert "Hạ tầng Desktop" in shown[0]


def test_english_ui(qtbot, sample_db_path):
    strings.set_language("en")
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(sample_db_path)
    menus = [a.text() for a in w.menuBar().actions()]
    # Other features add menus (Edit, ...); the map's own are there, in this order, in English.
    assert [m for m in menus if m in ("&File", "&View", "&Tools", "&Help")] == ["&File", "&View", "&Tools", "&Help"]
    assert not any(m.startswith("&T\u1ec7p") for m in menus)
    assert "300 sites" in w.counts_label.text()
