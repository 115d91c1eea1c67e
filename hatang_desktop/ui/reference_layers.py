"""Lớp tham chiếu: the window's side of the reference layers (core/reflayers, ui/map/reference.py).

Tệp > Thêm lớp tham chiếu… adds a file (a GeoPackage's layer chosen when it has several); the
layer panel lists the reference layers under the survey layers, each with a check box, its
swatch, a style dialog (double-click, or the context menu) and Lên trên / Xuống dưới / Bỏ lớp.
Everything is saved in the database at once, so it opens the same the next time. A file that
is gone or cannot be read is a row with the reason in both languages; the rest of the map and
the other layers carry on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QInputDialog, QMenu, QPushButton, QTreeWidgetItem
from shiboken6 import isValid

from hatang_desktop.core import reflayers
from hatang_desktop.core.errors import HatangError, environment_fault
from hatang_desktop.core.map_data import lod_level, lod_tolerance

from . import file_dialogs
from .actions import connect_triggered
from .jobs import start_job
from .layer_panel import swatch_icon
from .map.reference import ReferenceMap
from .reference_style_dialog import ReferenceStyleDialog
from .strings import message_text, tr

log = logging.getLogger(__name__)

REF_ROLE = Qt.ItemDataRole.UserRole + 2  # on a reference layer's row: its name
STATUS_MS = 8000


def _why(entry: reflayers.RefLayer, exc: Exception) -> str:
    """What the layer panel says of a file that cannot be drawn: both languages, as the CLI."""
    if isinstance(exc, HatangError):
        return str(exc)
    log.error("reference layer %s not opened", entry.name, exc_info=exc)
    return f"{entry.path}: {exc}"


def problem_lines(entry: reflayers.RefLayer, problem: str) -> list[str]:
    """The note under a layer that is not drawn: the reason in Vietnamese, then in English, each
    on its own line (one line would be cut off by the dock's width); the file's path, which
    starts most reasons, is left to the tooltip."""
    text = problem
    for prefix in (f"{entry.path}: ", f"{Path(entry.path).name}: "):
        if prefix in text:
            text = text.split(prefix, 1)[1]
            break
    else:
        text = text.split(": ", 1)[1] if text.startswith("/") and ": " in text else text
    vi, sep, en = text.rpartition(" / ")
    return [tr("ref_problem", detail=vi)] + ([en] if en else []) if sep else [tr("ref_problem", detail=text)]


def open_here(entry: reflayers.RefLayer, db_path) -> tuple:
    try:
        return reflayers.open_layer(entry, db_path), None
    except Exception as exc:  # GDAL, Pillow or SQLite failing any way: a note, never a traceback
        return None, _why(entry, exc)


def open_files(entries: list[reflayers.RefLayer], db_path, province) -> list[tuple]:
    """(entry, Opened or None, problem or None) per entry, read on a worker; MBTiles files are
    left to the GUI thread (None, None): a SQLite connection belongs to its thread."""
    out = []
    for entry in entries:
        if entry.path.lower().endswith(".mbtiles"):
            out.append((entry, None, None))
            continue
        try:
            out.append((entry, reflayers.open_layer(entry, db_path, province), None))
        except Exception as exc:
            out.append((entry, None, _why(entry, exc)))
    return out


class ReferenceLayers(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.map = ReferenceMap(window.canvas)
        self.entries: list[reflayers.RefLayer] = []
        self.problems: dict[str, str] = {}  # layer name -> why its file is not drawn
        self.rows: dict[str, QTreeWidgetItem] = {}
        self.header: QTreeWidgetItem | None = None
        self.dialog: ReferenceStyleDialog | None = None
        self.loading = False  # files being read on a worker
        self._generation = 0
        self._reading: tuple = (0, [])
        self._job = None
        self.adding: list[tuple] = []  # (generation, db, serial) of each file being read to be added
        self._add_jobs: dict[tuple, object] = {}
        self._serial = 0
        self._reading_text = ""
        # The read itself is one call into GDAL: Hủy drops its result (nothing is saved) and
        # skips what would follow it on the worker.
        self.cancel_button = QPushButton(tr("job_cancel"))
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel_adding())
        window.statusBar().addPermanentWidget(self.cancel_button)
        window.act_add_reference = window._action("act_add_reference", self.choose_file)
        window.act_add_reference.setEnabled(False)
        tree = window.layer_panel.tree
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        tree.customContextMenuRequested.connect(self._context_menu)
        tree.itemDoubleClicked.connect(self._double_clicked)
        tree.itemChanged.connect(self._item_changed)
        window.layer_panel.rows_rebuilt.connect(self._show_rows)
        window.database_opened.connect(lambda _path: self.load())
        window.load_finished.connect(lambda ok: None if ok else self.load())

    # -- the database's list ---------------------------------------------------------------

    @property
    def db(self):
        return self.window.db

    def _db_path(self):
        return getattr(self.db, "path", None)

    def load(self) -> None:
        """Draw the open database's reference layers (after it opened). The files are read on a
        worker (a province's roads take seconds); their rows show at once, their drawing when
        read. A database opened again meanwhile makes the late result void."""
        self._generation += 1
        self._drop_adding()  # files read for the database before: never added to this one
        self.map.clear()
        self.entries, self.problems = [], {}
        self.window.act_add_reference.setEnabled(self.db is not None)
        if self.db is not None:
            try:
                self.entries = reflayers.load(self.db)
            except Exception as exc:  # the meta table unreadable (a server gone): no layers, a note
                log.warning("reference layers not read: %s", exc)
                self.window.statusBar().showMessage(tr("ref_not_read", detail=str(exc)), STATUS_MS)
        self._show_rows()
        if not self.entries:
            return
        generation, entries = self._generation, list(self.entries)
        db_path, province = self._db_path(), reflayers.province_of(self.db)
        self.loading = True
        self._reading = (generation, entries)
        # Bound methods of this QObject: called on the GUI thread (queued), a lambda would run
        # on the worker.
        self._job = start_job(lambda _progress, _cancel: (generation, open_files(entries, db_path, province)),
                              self._read, self._read_failed)

    def _read_failed(self, exc) -> None:
        generation, entries = self._reading
        self._read((generation, [(e, None, str(exc)) for e in entries]))

    def _read(self, done) -> None:
        generation, result = done
        if generation != self._generation:
            for _entry, layer, _problem in result:
                if layer is not None and layer.tiles is not None:
                    layer.tiles.close()
            return
        opened = []
        for entry, layer, problem in result:
            if layer is None and problem is None:  # an MBTiles file: its SQLite connection is this thread's
                layer, problem = open_here(entry, self._db_path())
            if layer is not None:
                opened.append(layer)
            else:
                self.problems[entry.name] = problem
        self.problems.update(self.map.show(opened))
        self.loading = False
        self._show_rows()

    def _save(self, entries: list[reflayers.RefLayer]) -> bool:
        try:
            reflayers.save(self.db, entries)
        except Exception as exc:
            self._status_error(exc)
            return False
        self.entries = entries
        return True

    def _status_error(self, exc: Exception) -> None:
        if isinstance(exc, HatangError):
            text = message_text(exc)
        else:
            fault = environment_fault(exc, self._db_path())
            if fault is None:
                raise exc
            text = message_text(fault)
        self.window.statusBar().showMessage(tr("ref_not_saved", detail=text), STATUS_MS)

    # -- adding --------------------------------------------------------------------------------

    def choose_file(self) -> None:
        if self.db is None:
            return
        start = str(Path(self._db_path()).parent) if self._db_path() else ""
        path, _ = file_dialogs.open_file_name(self.window, tr("act_add_reference").replace("&", "").rstrip("…"),
                                              start, tr("ref_filter"))
        if path:
            self.add_file(path)

    def add_file(self, path: str | Path, layer: str | None = None) -> bool:
        """Start adding `path`: whether its read started. The file is read on a worker (a
        province's roads: seconds) while the window carries on; the layer is saved and drawn
        when the read ends (`adding` is empty again), or the refusal shown on the status bar."""
        path = Path(path)
        try:
            if layer is None and path.suffix.lower() == ".gpkg":
                from hatang_desktop.core.reflayers.vector import list_layers

                names = list_layers(path)
                if len(names) > 1:
                    layer, ok = QInputDialog.getItem(self.window, tr("ref_choose_layer_title"),
                                                     tr("ref_choose_layer", file=path.name), names, 0, False)
                    if not ok:
                        return False
            entry = reflayers.new_entry(self.db, path, layer=layer)
        except Exception as exc:
            self._refused(exc)
            return False
        # The database the read is for: a result meant for one closed or replaced meanwhile is dropped.
        self._serial += 1
        target = (self._generation, self.db, self._serial)
        self.adding.append(target)
        self._reading_text = tr("ref_reading", name=entry.name)
        self.window.statusBar().showMessage(self._reading_text)
        if path.suffix.lower() == ".mbtiles":  # opening one is instant; its connection stays on this thread
            try:
                self._added(target, entry, reflayers.read_new(entry, path))
            except Exception as exc:
                self._add_failed(target, exc)
            return True
        province = reflayers.province_of(self.db)
        level = lod_level(self.window.canvas.metres_per_pixel())

        def read(_progress, cancel):
            # The refusal travels with the read it belongs to (the `failed` signal would not say which).
            try:
                opened = reflayers.read_new(entry, path, province)
                if cancel():
                    return target, entry, None, None
                # The simplification the current view draws, here rather than in the first paint
                # (every level would add ~3 s for a province's roads; other zooms build theirs then).
                if opened.vector is not None and level is not None:
                    for part in (opened.vector.lines, opened.vector.polygons):
                        if part is not None:
                            part.simplified(lod_tolerance(level))
                return target, entry, opened, None
            except Exception as exc:
                return target, entry, None, environment_fault(exc, path) or exc

        # Bound methods of this QObject: called on the GUI thread (queued), a lambda would run
        # on the worker.
        self._add_jobs[target] = start_job(read, self._read_new, self._refused, fault_path=path)
        self.cancel_button.show()
        return True

    def cancel_adding(self) -> None:
        """Hủy: the files being read are not added."""
        self._drop_adding()
        self.window.statusBar().showMessage(tr("job_cancelled"), STATUS_MS)

    def _drop_adding(self) -> None:
        """Forget the files being read (their reads end on their workers, their results unheeded)."""
        for job in self._add_jobs.values():
            job.cancel()
        self._add_jobs.clear()
        self.adding.clear()
        self.cancel_button.hide()
        if self.window.statusBar().currentMessage() == self._reading_text:
            self.window.statusBar().clearMessage()

    def _current(self, target) -> bool:
        """Whether a read that ended is still wanted: not cancelled, and for the open database."""
        self._add_jobs.pop(target, None)
        wanted = target in self.adding
        if wanted:
            self.adding.remove(target)
        bar = self.window.statusBar()
        if not self.adding:
            self.cancel_button.hide()
            if bar.currentMessage() == self._reading_text:  # not a message shown since
                bar.clearMessage()
        return wanted and target[:2] == (self._generation, self.db) and self.db is not None

    def _read_new(self, done) -> None:
        target, entry, opened, exc = done
        if opened is None:
            self._add_failed(target, exc)
        else:
            self._added(target, entry, opened)

    def _added(self, target, entry: reflayers.RefLayer, opened) -> None:
        if not self._current(target):
            if opened.tiles is not None:
                opened.tiles.close()
            return
        # Another layer added while this one was read may have taken its name.
        entry = replace(opened.entry, name=reflayers.unique_name(self.entries, opened.entry.name))
        opened.entry = entry
        if not self._save([entry, *self.entries]):
            if opened.tiles is not None:
                opened.tiles.close()
            return
        try:
            self.map.add(opened)
        except Exception as exc:  # a bug met by odd data: the layer is listed, with the reason
            self.problems[entry.name] = _why(entry, exc)
        self._show_rows()
        self.window.statusBar().showMessage(tr("ref_added", name=entry.name), STATUS_MS)

    def _add_failed(self, target, exc) -> None:
        if self._current(target):
            self._refused(exc)

    def _refused(self, exc: Exception) -> None:
        if not isinstance(exc, HatangError):
            exc = environment_fault(exc, None) or exc
        if not isinstance(exc, HatangError):  # a bug met by an odd file: said, not a traceback in a slot
            log.error("reference layer not added", exc_info=exc)
        text = message_text(exc) if isinstance(exc, HatangError) else str(exc)
        self.window.statusBar().showMessage(tr("ref_not_added", detail=text), STATUS_MS)

    # -- changing ------------------------------------------------------------------------------

    def _entry(self, name: str) -> reflayers.RefLayer | None:
        return next((e for e in self.entries if e.name == name), None)

    def _replace(self, new: reflayers.RefLayer) -> bool:
        return self._save([new if e.name == new.name else e for e in self.entries])

    def set_visible(self, name: str, visible: bool) -> None:
        entry = self._entry(name)
        if entry is None or entry.visible == visible:
            return
        new = replace(entry, visible=visible)
        self._replace(new)
        self.map.restyle(name, new)

    def move(self, name: str, step: int) -> None:
        names = [e.name for e in self.entries]
        i = names.index(name)
        j = max(0, min(len(names) - 1, i + step))
        if i == j:
            return
        entries = list(self.entries)
        entries.insert(j, entries.pop(i))
        if self._save(entries):
            self.map.set_order([e.name for e in entries])
            self._show_rows()

    def remove(self, name: str) -> None:
        if self._save([e for e in self.entries if e.name != name]):
            self.map.remove(name)
            self.problems.pop(name, None)
            self._show_rows()

    def edit_style(self, name: str) -> ReferenceStyleDialog | None:
        """Open the style dialog (modal); returns it once closed (for tests: its widgets)."""
        entry = self._entry(name)
        if entry is None:
            return None
        drawn = self.map.drawn.get(name)
        fields = None
        if drawn is not None and drawn.opened.vector is not None:
            fields = drawn.opened.vector.fields
        elif drawn is None and not entry.raster:
            fields = [entry.label] if entry.label else []
        dialog = ReferenceStyleDialog(entry, fields, self.window)
        dialog.preview.connect(lambda e: self.map.restyle(name, e))
        self.dialog = dialog
        accepted = dialog.exec()
        self.dialog = None
        if accepted:
            new = dialog.result_entry()
            if self._replace(new):
                self.map.restyle(name, new)
                self._show_rows()
                return dialog
        self.map.restyle(name, entry)  # the preview undone
        return dialog

    # -- the layer panel -------------------------------------------------------------------------

    def _show_rows(self) -> None:
        """The reference rows at the end of the layer panel (set_layers clears the tree)."""
        tree = self.window.layer_panel.tree
        tree.blockSignals(True)
        try:
            for row in [self.header, *self.rows.values()]:
                # set_layers' tree.clear() has already deleted them when it is what called here.
                if row is not None and isValid(row):
                    index = tree.indexOfTopLevelItem(row)
                    if index >= 0:
                        tree.takeTopLevelItem(index)
            self.rows, self.header = {}, None
            if not self.entries:
                return
            self.header = QTreeWidgetItem([tr("ref_header")])
            self.header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = self.header.font(0)
            font.setItalic(True)
            self.header.setFont(0, font)
            self.header.setForeground(0, QBrush(QColor("#555555")))
            tree.addTopLevelItem(self.header)
            for entry in self.entries:
                row = QTreeWidgetItem([entry.name])
                row.setData(0, REF_ROLE, entry.name)
                row.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
                row.setCheckState(0, Qt.CheckState.Checked if entry.visible else Qt.CheckState.Unchecked)
                row.setToolTip(0, tr("ref_row_tip", path=entry.path))
                font = row.font(0)
                font.setBold(True)
                row.setFont(0, font)
                drawn = self.map.drawn.get(entry.name)
                if drawn is not None:
                    row.setIcon(0, swatch_icon(drawn.legend()))
                    for note in drawn.opened.notes:
                        child = QTreeWidgetItem([note])
                        child.setFlags(Qt.ItemFlag.ItemIsEnabled)
                        child.setToolTip(0, note)
                        row.addChild(child)
                problem = self.problems.get(entry.name)
                if problem:
                    for text in problem_lines(entry, problem):
                        note = QTreeWidgetItem([text])
                        note.setFlags(Qt.ItemFlag.ItemIsEnabled)
                        note.setForeground(0, QBrush(QColor("#b3261e")))
                        note.setToolTip(0, problem)
                        row.addChild(note)
                    row.setForeground(0, QBrush(QColor("#b3261e")))
                tree.addTopLevelItem(row)
                row.setExpanded(bool(problem))
                self.rows[entry.name] = row
        finally:
            tree.blockSignals(False)

    def _item_changed(self, item: QTreeWidgetItem, _column: int) -> None:
        name = item.data(0, REF_ROLE)
        if name:
            self.set_visible(name, item.checkState(0) == Qt.CheckState.Checked)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        name = item.data(0, REF_ROLE)
        if name and name not in self.problems:  # a file not drawn has no attributes to offer
            self.edit_style(name)

    def _context_menu(self, pos) -> None:
        tree = self.window.layer_panel.tree
        item = tree.itemAt(pos)
        name = item.data(0, REF_ROLE) if item is not None else None
        if not name:
            return
        menu = self.context_menu(name)
        menu.exec(tree.viewport().mapToGlobal(pos))

    def context_menu(self, name: str) -> QMenu:
        menu = QMenu(self.window.layer_panel)
        names = [e.name for e in self.entries]
        style = menu.addAction(tr("ref_menu_style"))
        style.setEnabled(name not in self.problems)
        connect_triggered(style, lambda: self.edit_style(name))
        up = menu.addAction(tr("ref_menu_up"))
        up.setEnabled(names.index(name) > 0)
        connect_triggered(up, lambda: self.move(name, -1))
        down = menu.addAction(tr("ref_menu_down"))
        down.setEnabled(names.index(name) < len(names) - 1)
        connect_triggered(down, lambda: self.move(name, 1))
        menu.addSeparator()
        connect_triggered(menu.addAction(tr("ref_menu_remove")), lambda: self.remove(name))
        return menu
