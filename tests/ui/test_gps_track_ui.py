"""Issue 21, the GPS track as an inspector records it: "Ghi lộ trình" ticked in the GPS dock, the
walk replayed through the dock's log source, the track on the map as its own layer (on/off in
the layer panel), its breadcrumbs in the file with their times, Tệp > Xuất lộ trình GPS… to a
GPX file that GDAL's ogrinfo reads."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from hatang_desktop.core import gps, gps_track
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.ui.preferences import Preferences
from hatang_desktop.ui.strings import tr

from . import walk

WALK = Path(__file__).parent.parent / "data" / "walk_ha_tinh.nmea"
OGRINFO = shutil.which("ogrinfo")


def _replay(window, qtbot) -> None:
    panel = window.gps_panel
    walk.choose(panel.source_combo, text=tr("gps_source_log"))
    walk.clear_text(panel.log_edit)
    walk.type_into(panel.log_edit, str(WALK))
    walk.click(walk.button(panel, tr("gps_start")))
    qtbot.waitUntil(lambda: panel.current_fix is not None and not panel.is_running(), timeout=10000)
    walk.settle(50)


def _save_as(path: Path):
    def act(dialog) -> None:
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        walk.clear_text(edit)
        walk.type_into(edit, str(path))
        walk.press(edit, "Return")
    return act


def _layer_row(window, key: str):
    tree = window.layer_panel.tree
    return next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == key)


@pytest.mark.skipif(OGRINFO is None, reason="GDAL's ogrinfo is not installed")
def test_the_walk_is_recorded_drawn_and_exported(window, qtbot, tmp_path):
    window.gps_panel.toggleViewAction().trigger()   # Xem > Định vị GPS
    walk.settle(50)
    panel = window.gps_panel
    layer = window.canvas.layers["tracks"]
    assert layer.total_count() == 0 and not gps_track.list_tracks(window.db)

    walk.check(panel.record_track_check)
    assert Preferences.load().gps_record_track   # remembered for the next start
    _replay(window, qtbot)

    (track,) = gps_track.list_tracks(window.db)
    points = gps_track.track_points(window.db, track)
    # What the dock stored is what the core's thinning makes of the same walk at the dock's threshold.
    thinner = gps_track.Thinner(max_accuracy_m=panel.max_accuracy_m)
    want = [p for p in (thinner.take(f) for f in gps.read_log(WALK)) if p is not None]
    assert [(p.time, p.lat, p.lon) for p in points] == [(p.time, p.lat, p.lon) for p in want]
    assert track.started_at == "2025-03-14T01:30:06Z" and track.gnss_source == "nmea-log:walk_ha_tinh.nmea"
    assert panel.track_label.text() == tr("gps_track_saved", n=len(points))

    # On the map: one line through the breadcrumbs, the newest one marked, a row in the layer panel.
    assert layer.total_count() == 1 and layer.line.isVisible()
    assert layer.line.path().elementCount() == len(points)
    row = _layer_row(window, "tracks")
    assert row.text(0) == f"{tr('layer_tracks')} (1)" and row.checkState(0) == Qt.CheckState.Checked
    last = layer.last.boundingRect().center()
    x, y = lonlat_to_mercator(points[-1].lon, points[-1].lat)
    assert abs(last.x() - float(x)) < 1 and abs(last.y() - float(y)) < 1
    # Off and on again in the layer panel, as a user ticks it.
    row.setCheckState(0, Qt.CheckState.Unchecked)
    assert not layer.line.isVisible() and not layer.last.isVisible()
    row.setCheckState(0, Qt.CheckState.Checked)
    assert layer.line.isVisible()

    # Tệp > Xuất lộ trình GPS…: a GPX file GDAL reads, one point per breadcrumb with its time.
    out = tmp_path / "lo_trinh.gpx"
    waiter = walk.when_modal(_save_as(out))
    window.act_track_export.trigger()
    waiter.done()
    assert out.is_file()
    dump = subprocess.run([OGRINFO, "-ro", "-al", "-q", str(out), "track_points"], capture_output=True, text=True,
                          check=True).stdout
    assert re.findall(r"time \(DateTime\) = (.+)", dump) == [p.time.strftime("%Y/%m/%d %H:%M:%S+00") for p in points]
    assert tr("track_export_done", tracks=1, points=len(points), path=str(out)) == window.statusBar().currentMessage()

    # Unticked, a second replay records nothing.
    walk.check(panel.record_track_check, False)
    _replay(window, qtbot)
    assert len(gps_track.list_tracks(window.db)) == 1 and layer.total_count() == 1


def test_a_reopened_database_draws_its_tracks(window, qtbot):
    path = window.db.path
    fixes = list(gps.read_log(WALK))
    gps_track.record_fixes(window.db, fixes[:80])
    gps_track.record_fixes(window.db, fixes[80:])
    assert window.open_database(path, background=False)
    walk.settle(20)
    layer = window.canvas.layers["tracks"]
    assert layer.total_count() == 2
    assert _layer_row(window, "tracks").text(0) == f"{tr('layer_tracks')} (2)"
