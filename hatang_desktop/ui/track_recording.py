"""Recording the GPS track from the dock (core/gps_track.py does the thinning and the writes).

While the dock reads (a receiver or a replayed log) and "Ghi lộ trình" is ticked, every fix goes
to a `TrackRecorder` on the open database; one reading session is one track. Breadcrumbs are
drawn at once (the track layer grows as the inspector walks) and written in batches; a timer
writes a batch that waits longer than FLUSH_SECONDS when no new fix comes to trigger it, and
stopping the dock, unticking the box, closing or switching the database write what waits. A
write that fails (the file locked a moment) keeps its points for the next try and says so under
the box. Only a database file records: a read-only file or the department's server has no
track (a track stays on the inspector's machine, schema_0006.sql).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer

from hatang_desktop.core import gps_track
from hatang_desktop.core.storage.database import Database

from .strings import message_text, tr

log = logging.getLogger(__name__)


class TrackRecording(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.panel = window.gps_panel
        self.layer = window.canvas.layers["tracks"]
        self.recorder: gps_track.TrackRecorder | None = None
        self._saved: list[list[tuple[list[float], list[float]]]] = []   # tracks stored before this session
        self._live: list[tuple[float, float]] = []                      # this session's breadcrumbs
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._flush_if_due)
        self.panel.fix_changed.connect(self._on_fix)
        self.panel.running_changed.connect(self._on_running)
        self.panel.record_track_check.toggled.connect(self._on_toggled)
        window.database_opened.connect(lambda _path: self.reload())

    @property
    def db(self) -> Database | None:
        db = self.window.db
        if isinstance(db, Database) and not db.readonly:
            return db
        return None

    # -- the database's tracks ----------------------------------------------------------------

    def reload(self) -> None:
        """A database opened: draw its stored tracks."""
        self.finish()
        db = self.window.db
        self._saved = []
        if isinstance(db, Database):
            try:
                self._saved = [segs for _info, segs in gps_track.lines_for_map(db)]
            except Exception as exc:  # noqa: BLE001 - an older file opened read-only has no track tables
                log.warning("tracks not read: %s", exc)
        self._draw()
        self._refresh_panel_counts()

    def _draw(self) -> None:
        self.layer.set_tracks(self._saved, self._live_lines())
        self.layer.set_visible(self.layer.visible)

    def _live_lines(self) -> tuple[list[float], list[float]]:
        return [p[0] for p in self._live], [p[1] for p in self._live]

    def _refresh_panel_counts(self) -> None:
        self.window.layer_panel.update_counts(list(self.window.canvas.layers.values()))

    # -- recording ---------------------------------------------------------------------------

    def _on_fix(self, fix) -> None:
        # Not "is the reader running": a replayed log's last fixes arrive after its thread ended.
        if not self.panel.record_track_check.isChecked():
            return
        db = self.db
        if db is None:
            self.panel.track_label.setText(tr("gps_track_no_db"))
            return
        if self.recorder is not None and self.recorder.db is not db:
            self.finish(retry=False)   # a database closed under a failed batch: nowhere to write it
        if self.recorder is None:
            self.recorder = gps_track.TrackRecorder(db, gnss_source=fix.source)
            self._live = []
            self._timer.start()
        self.recorder.max_accuracy_m = self.panel.max_accuracy_m
        stored = self.recorder.stored
        try:
            point = self.recorder.add(fix)
        except Exception as exc:  # noqa: BLE001 - the points wait for the next batch; the walk goes on
            self._failed(exc)
            point = self.recorder.thinner.last
        else:
            if self.recorder.stored != stored:
                self._stored()
        if point is not None and (not self._live or self._live[-1] != (point.lon, point.lat)):
            self._live.append((point.lon, point.lat))
            self.layer.set_live(*self._live_lines())
            if len(self._live) == 1:
                self.layer.set_visible(self.layer.visible)
                self._refresh_panel_counts()

    def _flush_if_due(self) -> None:
        if self.recorder is not None and self.recorder.due():
            self._flush()

    def _flush(self) -> bool:
        try:
            self.recorder.flush()
        except Exception as exc:  # noqa: BLE001 - kept for the next try
            self._failed(exc)
            return False
        self._stored()
        return True

    def _stored(self) -> None:
        self.panel.track_label.setStyleSheet("")
        self.panel.track_label.setText(tr("gps_track_saved", n=self.recorder.stored))

    def _failed(self, exc: Exception) -> None:
        log.warning("track batch not written: %s", exc)
        self.panel.track_label.setStyleSheet("color: #b00020")
        self.panel.track_label.setText(tr("gps_track_error", detail=message_text(exc)))

    def _on_running(self, running: bool) -> None:
        if not running:
            self.finish()

    def _on_toggled(self, on: bool) -> None:
        if not on:
            self.finish()

    def finish(self, retry: bool = True) -> None:
        """End this session's track: what waits is written, the next fix starts a new track.
        A batch that cannot be written now stays with its recorder and the timer tries again
        (`retry`); the next session then goes on with the same track."""
        self._timer.stop()
        if self.recorder is None:
            return
        if self.recorder.pending and not self._flush() and retry:
            self._timer.start()
            return
        self.recorder = None
        if self._live:
            self._saved.append([self._live_lines()])
            self._live = []
            self._draw()

    # -- export (Tệp > Xuất lộ trình GPS…) ---------------------------------------------------------

    def choose_export(self) -> bool:
        """Ask for a .gpx or .gpkg file and write every stored track there."""
        from pathlib import Path

        from . import file_dialogs

        db = self.window.db
        if db is None:
            return False
        start = str(Path(db.path).with_name(f"{Path(db.path).stem}_lo_trinh.gpx")) if isinstance(db, Database) \
            else str(Path.home() / "lo_trinh.gpx")
        path, chosen = file_dialogs.save_file_name(self.window, tr("track_act_export").replace("&", "").rstrip("…"),
                                                   start, tr("track_export_filter"))
        if not path:
            return False
        if not Path(path).suffix:
            path += ".gpkg" if "gpkg" in chosen.lower() else ".gpx"
        return self.export(path)

    def export(self, path) -> bool:
        from PySide6.QtWidgets import QMessageBox

        from hatang_desktop.core.errors import HatangError, InvalidInputError
        from hatang_desktop.core.gps_track_export import export_tracks

        from .status_bar import STATUS_MESSAGE_MS

        self.finish()   # what waits is in the file before it is read
        db = self.window.db
        try:
            if not isinstance(db, Database):
                raise InvalidInputError("lộ trình chỉ lưu trong tệp của xã, không có trên máy chủ",
                                        "a track is kept in a commune's file only, never on the server")
            result = export_tracks(db, path)
        except (OSError, HatangError) as exc:
            QMessageBox.warning(self.window, tr("app_title"), tr("track_export_error", detail=message_text(exc)))
            return False
        self.window.statusBar().showMessage(tr("track_export_done", tracks=result.tracks, points=result.points,
                                               path=path), STATUS_MESSAGE_MS)
        return True
