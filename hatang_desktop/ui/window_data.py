"""Loading a database into the main window (in the background, with progress) and showing what
writes changed (data events) by patching the map, the counts and the selection in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QMessageBox

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.geo.meridians import central_meridian
from hatang_desktop.core.info import database_info
from hatang_desktop.core.map_data import read_communes, read_map
from hatang_desktop.core.map_patch import read_updates

from . import file_dialogs
from .loader import LoadedDatabase, LoadJob, read_database, target_label
from .strings import message_text, tr


class WindowData:
    """Mixed into MainWindow: open, load, close and draw a database; apply its Changes."""

    def load_database(self, path: str | Path) -> None:
        """Open `path` read-only and draw it, on this thread. Raises HatangError (map left empty)."""
        self._job_id += 1  # a background load still running is now stale
        self._close_database()
        try:
            loaded = read_database(path)
        except HatangError:
            self._show_empty()
            raise
        self._apply(loaded, path)

    def open_database(self, path: str | Path, *, background: bool = True) -> bool | None:
        """load_database for the UI: off the GUI thread with progress; a bad file becomes a message.

        In the background (the default) returns None and emits load_finished(ok) when done.
        """
        if not background:
            try:
                self.load_database(path)
                return True
            except HatangError as exc:
                QMessageBox.critical(self, tr("error_title"), message_text(exc))
                return False
        self._job_id += 1
        job = LoadJob(self._job_id, path)
        job.signals.progress.connect(self._load_progress)
        job.signals.finished.connect(lambda job_id, result: self._load_done(job_id, result, path))
        job.signals.failed.connect(self._load_failed)
        job.signals.needs_password.connect(lambda job_id, message: self._password_needed(job_id, message, path))
        self._jobs[self._job_id] = job
        self.progress.setValue(0)
        self.progress.show()
        self.statusBar().showMessage(tr("status_loading", name=target_label(path)))
        QThreadPool.globalInstance().start(job)
        return None

    def _load_progress(self, job_id: int, percent: int) -> None:
        if job_id == self._job_id:
            self.progress.setValue(percent)

    def _load_done(self, job_id: int, result: LoadedDatabase, path) -> None:
        self._jobs.pop(job_id, None)
        if job_id != self._job_id:  # the user opened something else meanwhile
            result.db.close()
            return
        self._close_database()

        def drawn() -> None:
            self.progress.hide()
            self.statusBar().clearMessage()
            self._apply(result, path, drawn=True)
            self.load_finished.emit(True)

        self.progress.setValue(100)
        self.canvas.set_map_in_steps(result.data, drawn)

    def _load_failed(self, job_id: int, message: str) -> None:
        self._jobs.pop(job_id, None)
        if job_id != self._job_id:
            return
        self.progress.hide()
        self.statusBar().clearMessage()
        QMessageBox.critical(self, tr("error_title"), message)
        self.load_finished.emit(False)

    def _apply(self, loaded: LoadedDatabase, path, drawn: bool = False) -> None:
        self.db, self.info, self.communes = loaded.db, loaded.info, loaded.communes
        if not drawn:
            self.canvas.set_map(loaded.data)
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        self.layer_panel.filter_box.set_operators(self.canvas.layers["sites"]._operators)
        self.identify_panel.clear()
        self._set_selection({})
        self._show_counts(loaded.info)
        self._fill_communes()
        try:
            self.meridian = central_meridian(loaded.info["province"]["code"])
        except (HatangError, KeyError, ValueError):
            self.meridian = None  # a national database: no one province's VN-2000 zone
        where = target_label(path)
        name = loaded.info["province"]["name"] or where
        self.setWindowTitle(tr("window_title", name=f"{name} ({where})"))
        self.show_server(self.db)
        self.database_opened.emit(str(path))

    def choose_database(self) -> None:
        start = str(Path(self.db.path).parent) if self.db is not None and self.db.path is not None else ""
        path, _ = file_dialogs.open_file_name(self, tr("act_open"), start, tr("open_filter"), database=True)
        if path:
            self.open_database(path)

    def _close_database(self) -> None:
        if self.db is not None:
            self.track_recording.finish(retry=False)  # the breadcrumbs waiting go to their own file
            self.db.close()
            self.db = None

    def _show_empty(self) -> None:
        self.canvas.set_map(None)
        self.identify_panel.clear()
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        self.counts_label.setText(tr("no_database"))
        self.info, self.communes, self.meridian = None, [], None
        self._fill_communes()
        self._set_selection({})
        self.setWindowTitle(tr("app_title"))
        self.show_server(None)

    def apply_changes(self, changes) -> None:
        """Show a write (data_events.changed): read just the records it changed and patch the
        layers, the counts and the selection in place; the view stays where it is."""
        if self.db is None:
            return
        selected = {k: self.canvas.layers[k].data.uuid[idx] for k, idx in self.selection.items()
                    if self.canvas.layers[k].data is not None}
        updates, reloaded = read_updates(self.db, changes)
        self.canvas.apply_updates(updates, reloaded)
        self.viewport.edited()
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        if selected:
            self._set_selection({k: self.canvas.indices(k, uuids) for k, uuids in selected.items()})
        if "admin_units" in changes.tables:  # a boundary import: the commune list and its extents
            chosen = self.commune_combo.currentData()
            self.communes = read_communes(self.db)
            self._fill_communes()
            # The commune in view stays chosen (set, not activated: the view does not move).
            self.commune_combo.setCurrentIndex(self.commune_combo.findData(chosen) if chosen else -1)
        if self.info is not None and changes.counts_dirty:
            counts = self.info["counts"]
            for table in counts:
                counts[table] += changes.count_delta(table)
            sites = self.canvas.layers["sites"].data
            if sites is not None:
                a = sites.attrs
                self.info["shared_sites"] = int(np.count_nonzero(a["shared"] & (a["status"] != "to_verify")))
            elif not counts.get("sites"):
                self.info["shared_sites"] = 0
            self._show_counts(self.info)

    def refresh_map(self) -> None:
        """Re-read every layer and redraw, keeping the view where it is: what every edit did
        before edits said what they changed (apply_changes); kept as the benchmark's yardstick."""
        if self.db is None:
            return
        (x0, x1), (y0, y1) = self.canvas.view.viewRange()
        self.canvas.set_map(read_map(self.db))
        self.canvas.view.setRange(xRange=(float(x0), float(x1)), yRange=(float(y0), float(y1)), padding=0)
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        self._set_selection({})
        self.info = database_info(self.db)
        self._show_counts(self.info)
