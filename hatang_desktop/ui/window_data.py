"""Loading a database into the main window (in the background, with progress) and showing what
writes changed (data events) by patching the map, the counts and the selection in place."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QMessageBox

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.geo.meridians import central_meridian
from hatang_desktop.core.info import database_info
from hatang_desktop.core.map_data import MapData, read_communes, read_map, read_poles
from hatang_desktop.core.map_patch import patch_points, read_updates

from . import file_dialogs, turns
from .loader import CountsJob, LateLoad, LoadedDatabase, LoadJob, read_database, target_label, target_of
from .strings import message_text, tr


@dataclass
class LatePoles:
    """A window's map shown without its poles, which job `job_id` is still reading: the edits
    applied meanwhile (`changes`), whether the map is drawn yet, the poles if they came first."""
    job_id: int
    path: object
    data: MapData
    changes: list = field(default_factory=list)
    drawn: bool = False
    arrived: LateLoad | None = None


class WindowData:
    """Mixed into MainWindow: open, load, close and draw a database; apply its Changes."""

    def load_database(self, path: str | Path) -> None:
        """Open `path` read-only and draw it, on this thread. Raises HatangError (map left empty)."""
        self._job_id += 1  # a background load still running is now stale
        self._stop_jobs()
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
        self._stop_jobs()
        job = LoadJob(self._job_id, path)
        job.signals.progress.connect(self._load_progress)
        job.signals.finished.connect(lambda job_id, result: self._load_done(job_id, result, path))
        job.signals.late.connect(self._late_done)
        job.signals.failed.connect(self._load_failed)
        job.signals.needs_password.connect(lambda job_id, message: self._password_needed(job_id, message, path))
        self._jobs[self._job_id] = job
        self.progress.setValue(0)
        self.progress.show()
        self.statusBar().showMessage(tr("status_loading", name=target_label(path)))
        QThreadPool.globalInstance().start(job)
        return None

    def _stop_jobs(self) -> None:
        """What loads still run read for a database no longer wanted: stop their reads (the
        country's poles take seconds of both CPUs otherwise)."""
        for job in self._jobs.values():
            job.cancel()

    def _load_progress(self, job_id: int, percent: int) -> None:
        if job_id == self._job_id:
            self.progress.setValue(percent)

    def _load_done(self, job_id: int, result: LoadedDatabase, path) -> None:
        if not result.late:
            self._jobs.pop(job_id, None)  # else the job still reads the poles: its signals stay
        if job_id != self._job_id:  # the user opened something else meanwhile
            result.db.close()
            return
        self._close_database()
        self._late = LatePoles(job_id, path, result.data) if result.late else None

        def drawn() -> None:
            self.progress.hide()
            self.statusBar().clearMessage()
            steps = self._apply_steps(result, path, drawn=True)

            def step() -> None:  # one piece per event-loop turn: the panels, the communes, the listeners
                if job_id != self._job_id:
                    return  # another database was opened meanwhile
                if next(steps, None) is not None:
                    turns.later(step)
                    return
                shown()

            step()

        def shown() -> None:
            self.map_shown.emit()
            if self._late is None:
                self.load_finished.emit(True)
                return
            self._late.drawn = True
            if self._late.arrived is not None:
                self._take_late(self._late.arrived)
            else:
                self.statusBar().showMessage(tr("status_loading_poles"))

        self.progress.setValue(100)
        if result.late:
            self.canvas.layers["poles"].loading = True
        self.canvas.set_map_in_steps(result.data, drawn)

    def _late_done(self, job_id: int, late: LateLoad) -> None:
        """The poles and the counts arrived (after the map was shown)."""
        self._jobs.pop(job_id, None)
        pending = self._late
        if pending is None or pending.job_id != job_id:
            return  # another database (or none) is open now (_close_database forgot the poles)
        if pending.drawn:
            self._take_late(late)
        else:
            pending.arrived = late

    def _take_late(self, late: LateLoad) -> None:
        """Draw the poles that arrived with the edits made while they were read written over
        them: each pole an edit touched is read again as it is now and patched in, so an added
        pole shows once, a moved one where it went, a deleted one not at all."""
        pending, self._late = self._late, None
        poles, prepared = late.poles, dict(late.prepared)
        touched = set().union(*(c.touched("poles") for c in pending.changes))
        if touched:
            poles = patch_points(poles, touched, read_poles(self.db, sorted(touched))).layer
            prepared = {}  # the worker's point grid is of the poles before the edits
        layer = self.canvas.layers["poles"]
        selected = layer.data.uuid[self.selection["poles"]] if "poles" in self.selection and layer.data else None
        layer.loading = False
        data = replace(pending.data, poles=poles, prepared=prepared)

        def shown() -> None:
            self.statusBar().clearMessage()
            self.layer_panel.set_layers(list(self.canvas.layers.values()))
            if selected is not None:
                self._set_selection({**self.selection, "poles": self.canvas.indices("poles", selected)})
            self.info = late.info
            if any(c.counts_dirty for c in pending.changes):
                self._count_again()  # whether the counts read include those edits is unknown
            self._show_counts(self.info)
            self.load_finished.emit(True)

        self.canvas.set_layers_in_steps(data, ("poles",), shown)

    def _count_again(self) -> None:
        """Read the counts again off the GUI thread; edits made meanwhile make it read again."""
        self._counts_dirty = False
        job = CountsJob(self._job_id, target_of(self.db))
        job.signals.finished.connect(self._counts_done)
        self._count_jobs = [job]  # its signals live as long as it does
        QThreadPool.globalInstance().start(job)

    def _counts_done(self, job_id: int, info: dict) -> None:
        if job_id != self._job_id or self.db is None:
            return
        if self._counts_dirty:
            self._count_again()
            return
        self.info = info
        self._show_counts(info)

    def _load_failed(self, job_id: int, message: str) -> None:
        self._jobs.pop(job_id, None)
        if job_id != self._job_id:
            return
        self.progress.hide()
        self.statusBar().clearMessage()
        QMessageBox.critical(self, tr("error_title"), message)
        self.load_finished.emit(False)

    def _apply(self, loaded: LoadedDatabase, path, drawn: bool = False) -> None:
        for _ in self._apply_steps(loaded, path, drawn):
            pass

    def _apply_steps(self, loaded: LoadedDatabase, path, drawn: bool = False):
        """_apply as a generator yielding (True) between pieces of a few ms to tens of ms each
        for the country (its 3,300 communes in the list, what listens to database_opened)."""
        self.db, self.info, self.communes = loaded.db, loaded.info, loaded.communes
        if not drawn:
            self.canvas.set_map(loaded.data)
        self.layer_panel.set_layers(list(self.canvas.layers.values()))
        self.layer_panel.filter_box.set_operators(self.canvas.layers["sites"]._operators)
        yield True
        self.identify_panel.clear()
        self._set_selection({})
        self._show_counts(loaded.info)
        yield True
        self._fill_communes()
        yield True
        try:
            self.meridian = central_meridian(loaded.info["province"]["code"])
        except (HatangError, KeyError, ValueError):
            self.meridian = None  # a national database: no one province's VN-2000 zone
        where = target_label(path)
        name = loaded.info["province"]["name"] or where
        self.setWindowTitle(tr("window_title", name=f"{name} ({where})"))
        self.show_server(self.db)
        yield True
        self.database_opened.emit(str(path))

    def choose_database(self) -> None:
        start = str(Path(self.db.path).parent) if self.db is not None and self.db.path is not None else ""
        path, _ = file_dialogs.open_file_name(self, tr("act_open"), start, tr("open_filter"), database=True)
        if path:
            self.open_database(path)

    def _close_database(self) -> None:
        self._late = None  # poles still on their way belong to the database being closed
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
        if self._late is not None:  # the poles are still being read: replayed over them on arrival
            self._late.changes.append(changes)
        if changes.counts_dirty:
            self._counts_dirty = True
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
        if self.info is not None and self.info["counts"] is not None and changes.counts_dirty:
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
