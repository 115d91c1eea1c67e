"""File > Nhập/Xuất dữ liệu GIS: the GIS exchange of core/gis behind two dialogs.

Both do their work as a background job (ui/jobs.py: progress, and a Cancel that rolls back)
with their own Database connection (the map keeps its own); the import shows how every attribute was understood (a combo per attribute to change
it), the problems per feature, and writes only when the user presses Import.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QMessageBox, QProgressBar, QPushButton, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from hatang_desktop.core.gis.importer import InvalidGisFileError
from hatang_desktop.core.storage.targets import open_for_exchange

from . import file_dialogs
from .jobs import Job, press_cancel, start_job
from .import_plan import ImportPlanBox
from .record_text import record_label
from .strings import language, message_text, tr
from .loader import as_target, sibling_file, start_folder, target_stem

EXPORT_FORMATS = (("gpkg", ".gpkg"), ("geojson", ".geojson"), ("kml", ".kml"), ("csv", ".csv"))
AS_CHOICES = (None, "sites", "poles", "routes", "zones", "boundaries")


def _record_label(record: str | None) -> str:
    """What a layer of the file becomes: a record type (forms/), the boundaries, or nothing."""
    if not record:
        return tr("gis_skipped")
    return tr("layer_boundaries") if record == "boundaries" else record_label(record)


def _start(owner, fn, done, bar: QProgressBar) -> Job:
    """A GIS job (ui/jobs.py) whose refusal (the file's problems) is a result the dialog shows,
    and whose other failures are one message box."""
    def failed(exc) -> None:
        if isinstance(exc, InvalidGisFileError):
            done(exc)
            return
        bar.hide()
        owner._busy(False)
        QMessageBox.critical(owner, tr("gis_failed"), message_text(exc))

    def cancelled() -> None:
        bar.hide()
        owner._busy(False)
        owner._cancelled()

    bar.setValue(0)
    bar.show()
    owner._busy(True)
    owner._job = start_job(fn, done, failed, bar, cancelled)
    return owner._job


def _cancel_button(dialog) -> QPushButton:
    button = dialog.buttons.addButton(tr("job_cancel"), QDialogButtonBox.ButtonRole.ActionRole)
    button.clicked.connect(dialog.cancel_job)
    button.hide()
    return button


def _show_cancel(button: QPushButton, busy: bool) -> None:
    button.setVisible(busy)
    button.setEnabled(True)


def _cancel(dialog) -> None:
    """Cancel pressed: the job stops at its next step, rolled back; `_cancelled` when it has."""
    press_cancel(dialog._job, dialog.cancel_button)


def _file_row(edit: QLineEdit, button: QPushButton) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    lay.addWidget(button)
    return row


class GisExportDialog(QDialog):
    def __init__(self, db_path: str | Path, communes: list[tuple[str, str]] | None = None, parent=None):
        super().__init__(parent)
        self.db_path = as_target(db_path)
        self._job: Job | None = None
        self.result = None
        self.setWindowTitle(tr("gis_export_title"))
        self.format = QComboBox()
        for key, _suffix in EXPORT_FORMATS:
            self.format.addItem(tr(f"gis_fmt_{key}"), key)
        self.scope = QComboBox()
        self.scope.addItem(tr("gis_scope_all"), None)
        for code, name in communes or ():
            self.scope.addItem(f"{name} ({code})", code)
        self.path = QLineEdit(sibling_file(self.db_path, target_stem(self.db_path) + "_gis.gpkg"))
        browse = QPushButton(tr("gis_browse"))
        browse.clicked.connect(self._browse)
        self.format.currentIndexChanged.connect(self._format_changed)
        form = QFormLayout()
        form.addRow(tr("gis_format"), self.format)
        form.addRow(tr("gis_scope"), self.scope)
        form.addRow(tr("gis_file"), _file_row(self.path, browse))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.hide()
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(tr("gis_export_button"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(tr("gis_close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button = _cancel_button(self)
        self.export_button.clicked.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.bar)
        lay.addWidget(self.buttons)
        self.resize(620, 220)

    def take_view_scope(self, scope) -> None:
        """Defaults from the map (ui/view_scope.py): the commune chosen in the toolbar is the scope.
        One merely in view is not: this single list would turn a look at a commune into an
        export of only that commune."""
        if scope.chosen and self.scope.findData(scope.commune) >= 0:
            self.scope.setCurrentIndex(self.scope.findData(scope.commune))

    def _suffix(self) -> str:
        return dict(EXPORT_FORMATS)[self.format.currentData()]

    def _format_changed(self) -> None:
        path = Path(self.path.text() or "hatang")
        self.path.setText(str(path.with_suffix(self._suffix())))

    def _browse(self) -> None:
        path, _ = file_dialogs.save_file_name(self, tr("gis_export_title"), self.path.text(),
                                              f"*{self._suffix()}")
        if path:
            self.path.setText(str(Path(path).with_suffix(self._suffix())))

    def _busy(self, busy: bool) -> None:
        self.export_button.setEnabled(not busy)
        _show_cancel(self.cancel_button, busy)

    def cancel_job(self) -> None:
        _cancel(self)

    def _cancelled(self) -> None:
        self.message.setText(tr("job_cancelled"))

    def start_export(self) -> None:
        from hatang_desktop.core.gis import export_gis

        out, commune, db_path = Path(self.path.text()), self.scope.currentData(), self.db_path
        self.message.setText(tr("gis_working"))

        def work(progress, cancel):
            # A Cancel stops the export at its next layer; its files are published only whole.
            with open_for_exchange(db_path) as db:
                return export_gis(db, out, commune=commune, progress=progress, cancel=cancel)

        _start(self, work, self._done, self.bar)

    def _done(self, result) -> None:
        self.bar.hide()
        self._busy(False)
        self.result = result
        self.message.setText(tr("gis_export_done", n=sum(result.counts.values()),
                                paths="\n".join(str(p) for p in result.paths)))


class GisImportDialog(QDialog):
    """Choose a file, see how it is understood, correct the mapping, then import."""

    imported = Signal(object)
    cancelled = Signal()   # a preview or an import stopped by Cancel: nothing written

    def __init__(self, db_path: str | Path, parent=None):
        super().__init__(parent)
        self.db_path = as_target(db_path)
        self._job: Job | None = None
        self.overrides: dict[str, str | None] = {}
        self.preview = None
        self.problems: list = []
        self.setWindowTitle(tr("gis_import_title"))
        self.path = QLineEdit()
        browse = QPushButton(tr("gis_browse"))
        browse.clicked.connect(self._browse)
        self.as_record = QComboBox()
        for key in AS_CHOICES:
            self.as_record.addItem(tr(f"gis_as_{key or 'auto'}"), key)
        self.preview_button = QPushButton(tr("gis_preview_button"))
        self.preview_button.clicked.connect(self.start_preview)
        self.as_record.currentIndexChanged.connect(lambda _i: self.path.text() and self.start_preview())
        top = QFormLayout()
        top.addRow(tr("gis_file"), _file_row(self.path, browse))
        row = QWidget()
        rl = QHBoxLayout(row)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.as_record, 1)
        rl.addWidget(self.preview_button)
        top.addRow(tr("gis_record_type"), row)
        # Boundaries whose code is not a 2025 code: take the unit their name fits (the problems
        # list each suggestion first).
        self.accept_name_match = QCheckBox(tr("gis_accept_name_match"))
        self.accept_name_match.setToolTip(tr("gis_accept_name_match_tip"))
        self.accept_name_match.toggled.connect(lambda _on: self.path.text() and self.start_preview())
        top.addRow("", self.accept_name_match)
        # OpenStreetMap masts and towers with no tower:type: skipped (listed) unless ticked.
        self.include_untyped = QCheckBox(tr("gis_include_untyped"))
        self.include_untyped.toggled.connect(lambda _on: self.path.text() and self.start_preview())
        top.addRow("", self.include_untyped)

        self.groups = QListWidget()
        self.groups.currentRowChanged.connect(self._show_group)
        self.mapping = QTableWidget(0, 2)
        self.mapping.setHorizontalHeaderLabels([tr("gis_col_source"), tr("gis_col_target")])
        self.mapping.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.mapping.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.mapping.verticalHeader().hide()
        left, right = QGroupBox(tr("gis_layers")), QGroupBox(tr("gis_mapping"))
        QVBoxLayout(left).addWidget(self.groups)
        QVBoxLayout(right).addWidget(self.mapping)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([330, 520])
        self.problem_box = QGroupBox(tr("gis_problems", n=0))
        self.problem_list = QListWidget()
        self.problem_list.setWordWrap(True)
        QVBoxLayout(self.problem_box).addWidget(self.problem_list)
        # How the file was read beyond the mapping: attributes ignored, boundaries matched through
        # the merges table or by name, parts unioned. Shown only when there is something to say.
        self.note_box = QGroupBox(tr("gis_notes", n=0))
        self.note_list = QListWidget()
        self.note_list.setWordWrap(True)
        QVBoxLayout(self.note_box).addWidget(self.note_list)
        self.note_box.hide()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-weight: bold")
        self.bar = QProgressBar()
        self.bar.hide()
        self.buttons = QDialogButtonBox()
        self.apply_button = self.buttons.addButton(tr("gis_apply_button"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(tr("gis_close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button = _cancel_button(self)
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 3)
        self.plan_box = ImportPlanBox()
        self.plan_box.hide()
        lay.addWidget(self.plan_box, 3)
        lay.addWidget(self.problem_box, 1)
        lay.addWidget(self.note_box, 1)
        lay.addWidget(self.summary)
        lay.addWidget(self.bar)
        lay.addWidget(self.buttons)
        self.resize(900, 640)

    # -- actions ---------------------------------------------------------------------------

    def _browse(self) -> None:
        path, _ = file_dialogs.open_file_name(self, tr("gis_import_title"), start_folder(self.db_path),
                                              tr("gis_open_filter"))
        if path:
            self.set_file(path)

    def set_file(self, path: str | Path) -> None:
        self.path.setText(str(path))
        self.overrides = {}
        self.start_preview()

    def _busy(self, busy: bool) -> None:
        self.preview_button.setEnabled(not busy)
        self.apply_button.setEnabled(not busy and self._can_apply())
        _show_cancel(self.cancel_button, busy)

    def cancel_job(self) -> None:
        _cancel(self)

    def _cancelled(self) -> None:
        self.summary.setText(tr("job_cancelled"))
        self.cancelled.emit()

    def _can_apply(self) -> bool:
        return self.preview is not None and not self.problems and self.preview.has_changes

    def _arguments(self) -> tuple[Path, str | None, dict]:
        return Path(self.path.text()), self.as_record.currentData(), dict(self.overrides)

    def _options(self) -> dict:
        return {"accept_name_match": self.accept_name_match.isChecked(),
                "include_untyped": self.include_untyped.isChecked()}

    def start_preview(self) -> None:
        from hatang_desktop.core.exchange.preview import describe_plan
        from hatang_desktop.core.forms import load_forms
        from hatang_desktop.core.gis import preview_gis

        if not self.path.text():
            QMessageBox.information(self, tr("gis_import_title"), tr("gis_no_file"))
            return
        path, as_record, mapping = self._arguments()
        options = self._options()
        db_path = self.db_path
        self.summary.setText(tr("gis_working"))

        lang = language()

        def work(progress, cancel):
            with open_for_exchange(db_path) as db:
                result = preview_gis(db, path, as_record=as_record, mapping=mapping, progress=progress,
                                     cancel=cancel, **options)
                if not result.problems:   # the same list of what changes as the Excel import's
                    result.described = describe_plan(db, result.plans, load_forms(), lang)
                return result

        _start(self, work, self._previewed, self.bar)

    def start_import(self) -> None:
        from hatang_desktop.core.gis import import_gis

        path, as_record, mapping = self._arguments()
        options = self._options()
        db_path = self.db_path

        def work(progress, cancel):
            # The map holds its own connection; the import writes through a read-write one.
            with open_for_exchange(db_path, write=True) as db:
                return import_gis(db, path, as_record=as_record, mapping=mapping, progress=progress, cancel=cancel,
                                  **options)

        _start(self, work, self._imported, self.bar)

    # -- results ---------------------------------------------------------------------------

    def _previewed(self, result) -> None:
        self.bar.hide()
        self.preview, self.problems = result, result.problems
        current = max(0, self.groups.currentRow())
        self.groups.blockSignals(True)
        self.groups.clear()
        for g in result.groups if result else ():
            text = tr("gis_layer_row", layer=g.layer, kind=tr(f"gis_kind_{g.kind}"), n=g.features,
                      record=_record_label(g.record))
            QListWidgetItem(text, self.groups)
        self.groups.blockSignals(False)
        if self.groups.count():
            self.groups.setCurrentRow(min(current, self.groups.count() - 1))
            self._show_group(self.groups.currentRow())
        self.note_list.clear()
        groups = result.groups if result else ()
        notes = [f"{g.layer}: {n}" for g in groups for n in g.notes]
        # A layer's reading notes (a converted encoding) are in the warnings too, as "lớp 'X': …".
        said = {f"lớp '{g.layer}': {n}" for g in groups for n in g.notes}
        for note in notes + [w for w in (result.warnings if result else ()) if w not in said]:
            QListWidgetItem(note, self.note_list)
        for k in result.skipped if result else ():   # reference points left out, and why
            item = QListWidgetItem(tr("gis_skipped_points", text=str(k)), self.note_list)
            item.setForeground(Qt.GlobalColor.darkGray)
        self.note_box.setTitle(tr("gis_notes", n=self.note_list.count()))
        self.note_box.setVisible(self.note_list.count() > 0)
        self.plan_box.show_plan(result.described if result is not None and not self.problems else [])
        self.problem_list.clear()
        for p in self.problems:
            item = QListWidgetItem(str(p), self.problem_list)
            item.setForeground(Qt.GlobalColor.darkRed)
        self.problem_box.setTitle(tr("gis_problems", n=len(self.problems)) if self.problems
                                  else tr("gis_no_problems"))
        # An empty problem list gives its room to the list of what the import will change.
        self.problem_box.setVisible(bool(self.problems) or not self.plan_box.entries)
        if self.problems:
            self.summary.setText(tr("gis_summary_invalid", n=len(self.problems)))
        elif result is not None:
            summary = tr("gis_summary", **result.total) if result.has_changes else tr("gis_nothing")
            if result.skipped:
                summary = tr("gis_summary_skipped", summary=summary.rstrip("."), n=len(result.skipped))
            self.summary.setText(summary)
        self._busy(False)

    def _show_group(self, row: int) -> None:
        self.mapping.setRowCount(0)
        if self.preview is None or not (0 <= row < len(self.preview.groups)):
            return
        g = self.preview.groups[row]
        self.mapping.setRowCount(len(g.mapping))
        for i, (src, key) in enumerate(g.mapping.items()):
            item = QTableWidgetItem(src)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.mapping.setItem(i, 0, item)
            combo = QComboBox()
            combo.addItem(tr("gis_ignore"), None)
            for target, label in g.targets:
                combo.addItem(label, target)
            combo.setCurrentIndex(max(0, combo.findData(key)) if key else 0)
            # An OpenStreetMap layer's tags are read, not mapped: nothing to choose there.
            combo.setEnabled(g.record is not None and bool(g.targets) and g.reference != "osm")
            combo.currentIndexChanged.connect(
                lambda _i, c=combo, layer=g.layer, s=src: self._remap(layer, s, c.currentData()))
            self.mapping.setCellWidget(i, 1, combo)

    def _remap(self, layer: str, src: str, target: str | None) -> None:
        self.overrides[f"{layer}::{src}"] = target or "-"
        self.start_preview()

    def _imported(self, result) -> None:
        self.bar.hide()
        if isinstance(result, InvalidGisFileError):  # the file changed since the preview
            self.start_preview()
            return
        self.preview = None
        self._busy(False)
        if result.applied:
            self.summary.setText(tr("gis_import_done", inserted=result.total["inserted"],
                                    updated=result.total["updated"], backup=result.backup or "-"))
            self.imported.emit(result)
        else:
            self.summary.setText(tr("gis_nothing"))
