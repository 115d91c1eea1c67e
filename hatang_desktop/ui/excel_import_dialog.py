"""File > Nhập sổ Excel: choose a workbook, see what the import would do, then apply it.

The preview is the core dry run on a worker thread (its own read-only connection): counts per
record type, or every problem of an invalid workbook (and no way to apply). A hand-typed list
also shows how each column was understood, with a combo per column to correct it (the preview
runs again with the correction), and which rule matched each row. Apply runs the real import
(backup, then one merge transaction) on a worker with its own read-write connection; the main
window patches the map with what it changed (one undo step), and remaining conflicts open the
conflict dialog.

A sync package (.zip from File > Xuất gói cho Sở) is taken too: the preview then also says which
photos it would add and copy, and lists a missing or altered photo among the problems (by file
name and the record it belongs to), with no way to apply.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton, QSizePolicy,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)

from hatang_desktop.core import schema

from . import file_dialogs
from .excel_common import RECORD_ORDER, record_label
from .import_plan import ImportPlanBox
from .jobs import press_cancel, start_job
from .strings import format_int, has, language, message_text, tr
from .loader import as_target, start_folder

COUNT_KEYS = ("inserted", "updated", "deleted", "conflicts", "unchanged")


def _item(value, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem("" if value is None else str(value))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.setAlternatingRowColors(True)
    t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


class ExcelImportDialog(QDialog):
    previewed = Signal(object)   # ImportResult of the dry run, or the exception
    imported = Signal(object)    # ImportResult of the real import
    failed = Signal(str)
    cancelled = Signal()         # a check or an import stopped by Cancel: nothing written

    def __init__(self, db_path: str | Path, parent=None) -> None:
        super().__init__(parent)
        self.db_path = as_target(db_path)
        self.workbook: Path | None = None
        self.preview = None          # ImportResult of the last dry run
        self.problems = []           # Problem list of an invalid workbook
        self.error: str | None = None
        self.result = None           # ImportResult once applied
        self.mapping: dict[str, dict[str, str | None]] = {}
        self.combos: list[tuple[str, str, QComboBox]] = []   # (sheet, header, combo)
        self.conflict_dialog = None
        self._job = None
        self.setWindowTitle(tr("xl_import_title"))
        self.resize(860, 620)
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        choose = QPushButton(tr("xl_choose_file"))
        choose.clicked.connect(self.choose_file)
        top = QHBoxLayout()
        top.addWidget(QLabel(tr("xl_file")))
        top.addWidget(self.path_edit, 1)
        top.addWidget(choose)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.hide()
        # What the import will not take or will leave alone: columns not understood, fields the
        # workbook has no column for, rows read with a correction.
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #8a5300")
        self.warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts = _table([tr("xl_record")] + [tr(f"xl_{k}") for k in COUNT_KEYS])
        self.counts.horizontalHeader().setStretchLastSection(False)
        self.counts.verticalHeader().setDefaultSectionSize(self.counts.fontMetrics().height() + 8)
        self.counts.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.counts.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.plan_box = ImportPlanBox()
        self.problems_table = _table([tr("xl_sheet"), tr("xl_row"), tr("xl_column"), tr("xl_value"),
                                      tr("xl_message")])
        self.mapping_box = QGroupBox(tr("xl_mapping_group"))
        self.mapping_table = _table([tr("xl_sheet"), tr("xl_header_written"), tr("xl_understood_as")])
        self.rerun_button = QPushButton(tr("xl_rerun"))
        self.rerun_button.clicked.connect(lambda: self.run_preview())
        box = QVBoxLayout(self.mapping_box)
        box.addWidget(self.mapping_table)
        box.addWidget(self.rerun_button, 0, Qt.AlignmentFlag.AlignRight)
        self.matching_box = QGroupBox(tr("xl_matching_group"))
        self.matching_table = _table([tr("xl_sheet"), tr("xl_row"), tr("xl_record"), tr("xl_record_code"),
                                      tr("xl_rule")])
        QVBoxLayout(self.matching_box).addWidget(self.matching_table)
        self.photos_box = QGroupBox(tr("xl_photos_group"))
        self.photos_label = QLabel()
        self.photos_label.setWordWrap(True)
        self.photos_table = _table([tr("xl_photo_file"), tr("xl_record"), tr("xl_record_code"), tr("xl_photo_action")])
        photos_layout = QVBoxLayout(self.photos_box)
        photos_layout.addWidget(self.photos_label)
        photos_layout.addWidget(self.photos_table)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton(tr("xl_apply"), QDialogButtonBox.ButtonRole.AcceptRole)
        close = buttons.addButton(tr("xl_close"), QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button = buttons.addButton(tr("job_cancel"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.cancel_button.hide()
        self.apply_button.clicked.connect(lambda: self.apply())
        close.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addWidget(self.warnings)
        # The counts beside the list of what changes: both in view at 1366x768 with room for the list.
        middle = QHBoxLayout()
        middle.addWidget(self.counts, 0, Qt.AlignmentFlag.AlignTop)
        middle.addWidget(self.plan_box, 1)
        layout.addLayout(middle, 3)
        layout.addWidget(self.problems_table, 1)
        layout.addWidget(self.mapping_box, 1)
        layout.addWidget(self.matching_box, 1)
        layout.addWidget(self.photos_box, 1)
        layout.addStretch(0)  # takes the room the hidden parts leave, not the status line
        layout.addWidget(buttons)
        self._show_nothing()

    # -- choosing and previewing ---------------------------------------------------------

    def choose_file(self) -> None:
        start = str(self.workbook) if self.workbook else start_folder(self.db_path)
        path, _ = file_dialogs.open_file_name(self, tr("xl_import_title"), start, tr("xl_import_filter"))
        if path:
            self.set_file(path)

    def set_file(self, path: str | Path):
        self.workbook = Path(path)
        self.mapping = {}
        self.path_edit.setText(str(self.workbook))
        return self.run_preview(keep_mapping=False)

    def current_mapping(self) -> dict[str, dict[str, str | None]]:
        out: dict[str, dict[str, str | None]] = {}
        for sheet, header, combo in self.combos:
            out.setdefault(sheet, {})[header] = combo.currentData()
        return out

    def run_preview(self, keep_mapping: bool = True):
        """The dry run on a worker; `previewed` when done."""
        from hatang_desktop.core.exchange.package import import_workbook_or_package
        from hatang_desktop.core.exchange.preview import describe_plan
        from hatang_desktop.core.forms import load_forms
        from hatang_desktop.core.storage.targets import open_for_exchange

        if self.workbook is None:
            return None
        if keep_mapping and self.combos:
            self.mapping = self.current_mapping()
        db_path, book, mapping = self.db_path, self.workbook, dict(self.mapping) or None

        lang = language()

        def work(progress, cancel):
            with open_for_exchange(db_path) as db:
                result = import_workbook_or_package(db, book, dry_run=True, progress=progress, mapping=mapping,
                                                    cancel=cancel)
                result.described = describe_plan(db, result.plans, load_forms(), lang)
                return result

        self._show_nothing()
        self.status.setText(tr("xl_checking"))
        self.bar.setValue(0)
        self.bar.show()
        self._job = start_job(work, self._preview_done, self._preview_failed, self.bar, self._cancelled)
        self.cancel_button.show()
        return self._job

    def _show_nothing(self) -> None:
        self.preview, self.problems, self.error = None, [], None
        self.apply_button.setEnabled(False)
        for w in (self.counts, self.plan_box, self.problems_table, self.mapping_box, self.matching_box,
                  self.photos_box, self.warnings):
            w.hide()
        self.status.setStyleSheet("")

    def _preview_done(self, result) -> None:
        self._job_ended()
        self.preview = result
        self._fill_counts(result.counts)
        self.plan_box.show_plan(result.described)
        self._fill_mapping(result.understood)
        self._fill_matching(result.plans)
        self._fill_warnings(result.warnings)
        self._fill_photos(result.photos)
        total = result.total
        changes = total["inserted"] + total["updated"] + total["deleted"] + total["conflicts"]
        if result.photos:
            changes += result.photos["added"] + result.photos["updated"] + result.photos["files_copied"]
        self.status.setText(tr("xl_preview_ok") if changes else tr("xl_preview_same"))
        self.apply_button.setEnabled(bool(changes))
        self.previewed.emit(result)

    def _preview_failed(self, exc) -> None:
        from hatang_desktop.core.exchange.importer import InvalidWorkbookError

        self._job_ended()
        self.status.setStyleSheet("color: #b00020")
        if isinstance(exc, InvalidWorkbookError):
            self.problems = exc.problems
            self.status.setText(tr("xl_invalid", n=format_int(len(exc.problems))))
            t = self.problems_table
            t.setRowCount(len(exc.problems))
            for i, p in enumerate(exc.problems):
                for j, v in enumerate((p.sheet, p.row, p.column, p.shown, message_text(p.message))):
                    t.setItem(i, j, _item(v, align_right=j == 1))
            t.show()
        else:
            self.error = message_text(exc)
            self.status.setText(tr("xl_failed", message=message_text(exc)))
        self.apply_button.setEnabled(False)
        self.previewed.emit(exc)

    def _fill_warnings(self, warnings: list[str], shown: int = 12) -> None:
        lines = [tr("xl_warnings", n=format_int(len(warnings)))] + [f"• {w}" for w in warnings[:shown]]
        if len(warnings) > shown:
            lines.append(tr("xl_more_warnings", n=format_int(len(warnings) - shown)))
        self.warnings.setText("\n".join(lines))
        self.warnings.setVisible(bool(warnings))

    def _fill_photos(self, photos: dict | None) -> None:
        """A package's photos: what the import does with them, one row per photo it touches."""
        if photos is None:
            self.photos_box.hide()
            return
        lines = [tr("xl_photos_summary", added=format_int(photos["added"]), updated=format_int(photos["updated"]),
                    files=format_int(photos["files_copied"]), unchanged=format_int(photos["unchanged"]))]
        if photos["not_in_package"]:
            lines.append(tr("xl_photos_not_in_package", n=format_int(len(photos["not_in_package"]))))
        self.photos_label.setText("\n".join(lines))
        actions = {"add": tr("xl_photo_add"), "update": tr("xl_photo_update"), "file": tr("xl_photo_file_only")}
        items = photos["items"]
        t = self.photos_table
        t.setRowCount(len(items))
        for i, item in enumerate(items):
            for j, v in enumerate((item["file_name"], record_label(item["record_type"]), item["record_code"],
                                   actions.get(item["action"], item["action"]))):
                t.setItem(i, j, _item(v))
        t.setVisible(bool(items))
        self.photos_box.show()

    def _fill_counts(self, counts: dict[str, dict[str, int]]) -> None:
        records = [r for r in RECORD_ORDER if r in counts and any(counts[r].values())]
        t = self.counts
        t.setRowCount(len(records) + 1)
        for i, r in enumerate(records):
            t.setItem(i, 0, _item(record_label(r)))
            for j, k in enumerate(COUNT_KEYS, start=1):
                t.setItem(i, j, _item(format_int(counts[r][k]), align_right=True))
        t.setItem(len(records), 0, _item(tr("xl_total")))
        for j, k in enumerate(COUNT_KEYS, start=1):
            item = _item(format_int(sum(counts[r][k] for r in records)), align_right=True)
            font = item.font()
            font.setBold(True)
            item.setFont(font)
            t.setItem(len(records), j, item)
        t.resizeColumnsToContents()
        # Whole, never scrolled: the list of what changes beside it takes the room that is left.
        t.setFixedSize(t.horizontalHeader().length() + 2 * t.frameWidth() + 2,
                       t.verticalHeader().length() + t.horizontalHeader().height() + 2 * t.frameWidth() + 2)
        t.show()

    def _fill_mapping(self, understood: list[dict]) -> None:
        self.combos = []
        rows = [(u, h) for u in understood if u.get("record") for h in u.get("keys", {})]
        t = self.mapping_table
        t.setRowCount(len(rows))
        for i, (u, header) in enumerate(rows):
            t.setItem(i, 0, _item(u["sheet"]))
            t.setItem(i, 1, _item(header))
            combo = QComboBox()
            combo.addItem(tr("xl_ignore"), None)
            for key, label in u["choices"]:
                combo.addItem(label, key)
            combo.setCurrentIndex(max(0, combo.findData(u["keys"][header])))
            t.setCellWidget(i, 2, combo)
            self.combos.append((u["sheet"], header, combo))
        self.mapping_box.setVisible(bool(rows))

    def _fill_matching(self, plans) -> None:
        hand = [p for p in plans if p.row.version is None and p.row.record != "site_tenants"]
        t = self.matching_table
        t.setRowCount(len(hand))
        for i, p in enumerate(hand):
            code = schema.title(p.row.record, p.row.values)
            rule = p.row.matched_by
            for j, v in enumerate((p.row.extra.get("sheet", ""), p.row.row, record_label(p.row.record), code,
                                   tr(f"xl_rule_{rule}") if has(f"xl_rule_{rule}") else rule)):
                t.setItem(i, j, _item(v, align_right=j == 1))
        self.matching_box.setVisible(bool(hand))

    # -- applying ------------------------------------------------------------------------

    def apply(self):
        """The real import on a worker; `imported` when done (the window shows what it changed)."""
        from hatang_desktop.core.exchange.package import import_workbook_or_package
        from hatang_desktop.core.storage.targets import open_for_exchange

        if self.preview is None or self.workbook is None:
            return None
        db_path, book, mapping = self.db_path, self.workbook, dict(self.mapping) or None
        if self.combos:
            mapping = self.current_mapping()

        def work(progress, cancel):
            with open_for_exchange(db_path, write=True) as db:
                return import_workbook_or_package(db, book, progress=progress, mapping=mapping, cancel=cancel)

        self.apply_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(tr("xl_applying"))
        self.bar.setValue(0)
        self.bar.show()
        self._job = start_job(work, self._applied, self._apply_failed, self.bar, self._cancelled)
        self.cancel_button.show()
        return self._job

    def cancel_job(self) -> None:
        """Cancel pressed while checking or importing: the core stops at its next step and rolls
        back; `_cancelled` says so when it has."""
        press_cancel(self._job, self.cancel_button, self.status)

    def _job_ended(self) -> None:
        self.bar.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)

    def _cancelled(self) -> None:
        self._job_ended()
        self.status.setStyleSheet("")
        self.status.setText(tr("job_cancelled"))
        self.apply_button.setEnabled(self.preview is not None)
        self.cancelled.emit()

    def _applied(self, result) -> None:
        self._job_ended()
        self.result = result
        total = result.total
        if result.applied:
            self.status.setText(tr("xl_applied", **{k: format_int(v) for k, v in total.items()},
                                   backup=Path(result.backup).name if result.backup else "-"))
        else:
            self.status.setText(tr("xl_nothing_applied"))
        self._fill_counts(result.counts)
        self._fill_photos(result.photos)
        self.imported.emit(result)
        if total["conflicts"]:
            from .conflict_dialog import ConflictDialog

            self.conflict_dialog = ConflictDialog(self.db_path, self.parent() or self)
            self.conflict_dialog.show()

    def _apply_failed(self, exc) -> None:
        self._job_ended()
        self.error = message_text(exc)
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(tr("xl_failed", message=message_text(exc)))
        self.apply_button.setEnabled(self.preview is not None)
        self.failed.emit(message_text(exc))
