"""The findings dock: run the checks, filter findings, go to their records, change their status.

A list of every finding (the check's and the inspectors'), filterable by rule, severity, status,
operator and commune. Clicking a finding zooms to its record and shows it in the identify panel;
double-clicking opens the record's form. Confirm, resolve, dismiss (with a reason) and reopen go
through the editor's undo stack and the change log like any other edit. The check itself runs
off the GUI thread as a background job (ui/jobs.py) whose Cancel stops it before any finding is
stored.
"""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QGridLayout, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QMainWindow, QPushButton, QTableView, QVBoxLayout, QWidget)

from hatang_desktop.core import schema
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.operators import BY_CODE
from hatang_desktop.core.rules import (MANUAL_RULE, list_findings, load_rules, run_check, select_findings,
                                      set_status, shown_record)

from .jobs import press_cancel, start_job
from .map.style import SEVERITY_COLOURS
from .record_text import value_label
from .strings import language, message_text, tr

LAYER_OF = {"sites": "sites", "poles": "poles", "fibre_routes": "routes", "zones": "zones"}
COLUMNS = ("fp_severity", "fp_status", "fp_rule", "fp_record", "fp_operator", "fp_commune", "fp_found_on", "fp_note")
FILTERS = (("rule", "fp_rule"), ("severity", "fp_severity"), ("status", "fp_status"),
           ("operator", "fp_operator"), ("commune", "fp_commune"))


class FindingsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.frame = pd.DataFrame()
        self.rule_titles: dict[str, str] = {}

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self.frame = frame.reset_index(drop=True)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section])
        return None

    def text(self, row: int, col: int) -> str:
        f = self.frame.iloc[row]
        key = COLUMNS[col]
        if key == "fp_severity":
            return value_label("findings", "severity", f["severity"])
        if key == "fp_status":
            return value_label("findings", "status", f["status"])
        if key == "fp_rule":
            return rule_title(self.rule_titles, f["rule_id"])
        if key == "fp_record":
            if not isinstance(f["target_uuid"], str) and isinstance(f["commune_code"], str):
                return tr("fp_record_commune")   # a rule reported per commune: no one record
            return _text(f["record"])
        if key == "fp_operator":
            return operator_label(f["operator_code"])
        if key == "fp_commune":
            return _text(f["commune_name"])
        if key == "fp_found_on":
            day = str(f["found_on"])[:10]
            return f"{day[8:10]}/{day[5:7]}/{day[:4]}" if len(day) == 10 else day
        return _text(f["note"]).split("\n")[0]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[index.column()] == "fp_note":
                return _text(self.frame.iloc[index.row()]["note"])
            return self.text(index.row(), index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return QColor(SEVERITY_COLOURS.get(self.frame.iloc[index.row()]["severity"], "#000000"))
        if role == Qt.ItemDataRole.UserRole:
            return index.row()
        return None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def operator_label(code) -> str:
    if not isinstance(code, str) or not code:
        return tr("fp_no_operator")
    op = BY_CODE.get(code)
    return op.brand if op else code


def rule_title(titles: dict[str, str], rule_id) -> str:
    if not isinstance(rule_id, str) or rule_id in ("", MANUAL_RULE):
        return tr("fp_manual_rule")
    return titles.get(rule_id, rule_id)


class FindingsTable(QTableView):
    """The list asks for room for VISIBLE_ROWS rows: the dock opens that tall (up to half the window)."""

    VISIBLE_ROWS = 10
    ROW_PX = 22  # as the attribute table: compact rows, more findings on a laptop screen

    def sizeHint(self):  # noqa: N802 (Qt API)
        hint = super().sizeHint()
        header = self.horizontalHeader().sizeHint().height()
        hint.setHeight(header + self.VISIBLE_ROWS * self.ROW_PX + 2 * self.frameWidth()
                       + self.horizontalScrollBar().sizeHint().height())
        return hint


class FindingsPanel(QDockWidget):
    check_finished = Signal(object)  # CheckResult, or None when it failed
    OPEN_TALL = True  # ui/dock_layout: opens tall enough for FindingsTable.VISIBLE_ROWS rows

    def __init__(self, window) -> None:
        super().__init__(tr("dock_findings"), window)
        self.setObjectName("findings_panel")
        self.window = window
        self.all = pd.DataFrame()
        self.rule_titles: dict[str, str] = {}
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.run_button = QPushButton(tr("fp_run_check"), body)
        self.run_button.setToolTip(tr("fp_run_check_tip"))
        self.run_button.clicked.connect(self.start_check)
        self.cancel_button = QPushButton(tr("job_cancel"), body)
        self.cancel_button.clicked.connect(self.cancel_check)
        self.cancel_button.hide()
        self.summary = QLabel("", body)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        layout.addLayout(top)
        grid = QGridLayout()
        self.filters: dict[str, QComboBox] = {}
        for i, (key, label) in enumerate(FILTERS):
            combo = QComboBox(body)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(self.apply_filters)
            self.filters[key] = combo
            grid.addWidget(QLabel(tr(label), body), 0, i * 2)
            grid.addWidget(combo, 0, i * 2 + 1)
            grid.setColumnStretch(i * 2 + 1, 3 if key == "rule" else 1)
        top.addLayout(grid, 4)
        self.model = FindingsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = FindingsTable(body)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(FindingsTable.ROW_PX)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setResizeContentsPrecision(100)  # sizes from 100 rows, not 10,000
        self.table.setWordWrap(False)
        self.table.clicked.connect(self._clicked)
        self.table.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        self.status_buttons = {}
        for status, key in (("confirmed", "fp_confirm"), ("resolved", "fp_resolve"), ("dismissed", "fp_dismiss"),
                            ("open", "fp_reopen")):
            b = QPushButton(tr(key), body)
            b.clicked.connect(lambda _=False, s=status: self.change_status(s))
            buttons.addWidget(b)
            self.status_buttons[status] = b
        layout.addLayout(buttons)
        self.setWidget(body)
        self._job = None
        self._stack = None
        self._stale = True
        if hasattr(window, "database_opened"):
            window.database_opened.connect(self._database_opened)
        self.visibilityChanged.connect(self._visibility_changed)

    # -- room for the list -----------------------------------------------------------------------

    MAX_SHARE = 0.5  # of the window's height the list may take to show its rows

    def _visibility_changed(self, visible: bool) -> None:
        if visible:  # after the layout placed the dock: its height is not known before
            QTimer.singleShot(0, self, self.ensure_rows)

    def ensure_rows(self, tries: int = 3) -> None:
        """Each time the list comes into view (the app starts with it open, its tab is raised,
        it is opened) it gets room for VISIBLE_ROWS rows, up to half the window: a layout saved
        with a squeezed dock, or the attribute table's 170 px, left it showing one or two rows.
        A user who shrinks it afterwards keeps that until it is shown again."""
        window = self.window
        if self.isFloating() or not self.isVisible() or not isinstance(window, QMainWindow):
            return
        if window.dockWidgetArea(self) not in (Qt.DockWidgetArea.BottomDockWidgetArea,
                                               Qt.DockWidgetArea.TopDockWidgetArea):
            return
        missing = FindingsTable.VISIBLE_ROWS * FindingsTable.ROW_PX - self.table.viewport().height()
        want = min(self.height() + missing, int(window.height() * self.MAX_SHARE))
        if missing > 0 and want > self.height():
            window.resizeDocks([self], [want], Qt.Orientation.Vertical)
            if tries > 1:  # scroll bars can take part of the new room: look again once it is laid out
                QTimer.singleShot(0, self, lambda: self.ensure_rows(tries - 1))

    def _database_opened(self, _path: str) -> None:
        # Listing tens of thousands of findings costs ~200 ms on the GUI thread: only a panel the
        # user can see pays it now; a hidden one lists when it is first shown.
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._stale:
            self.reload()

    def _follow_undo_stack(self) -> None:
        """Undo/redo of a status change (or any edit) refreshes the list. The window makes its
        editor after its docks, so the stack is picked up on the first reload."""
        stack = getattr(getattr(self.window, "editor", None), "stack", None)
        if stack is not None and stack is not self._stack:
            # A bound slot, not a lambda: Qt drops it when this panel is destroyed, while a lambda
            # would be called by a dying stack on a deleted panel.
            stack.indexChanged.connect(self._stack_moved)
            self._stack = stack

    def _stack_moved(self, _index: int) -> None:
        if self.isVisible():
            self.reload()

    # -- data ----------------------------------------------------------------------------------

    @property
    def db(self):
        return getattr(self.window, "db", None)

    def reload(self) -> None:
        self._stale = False
        self._follow_undo_stack()
        if self.db is None:
            self.all = pd.DataFrame()
            self.model.set_frame(self.all)
            self.summary.setText(tr("fp_no_database"))
            return
        lang = "vi" if language() == "vi" else "en"
        try:
            self.rule_titles = {r.id: r.title[lang] for r in load_rules()}
        except HatangError:
            self.rule_titles = {}
        self.model.rule_titles = self.rule_titles
        self.all = list_findings(self.db)
        self._fill_filters()
        self.apply_filters()

    def _fill_filters(self) -> None:
        f = self.all
        lists = schema.forms().lists
        options = {
            "rule": sorted({(rule_title(self.rule_titles, r), r if isinstance(r, str) else MANUAL_RULE)
                            for r in f["rule_id"]}),
            "severity": [(value_label("findings", "severity", c), c) for c in lists["severities"].codes],
            "status": [(tr("fp_active_only"), "active")] + [(value_label("findings", "status", c), c)
                                                             for c in lists["finding_statuses"].codes],
            "operator": sorted({(operator_label(c), c if isinstance(c, str) else "") for c in f["operator_code"]}),
            "commune": sorted({(n if isinstance(n, str) else "—", c if isinstance(c, str) else "")
                               for c, n in zip(f["commune_code"], f["commune_name"])}),
        }
        for key, combo in self.filters.items():
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(tr("fp_all"), None)
            for label, value in options[key]:
                combo.addItem(label, value)
            i = combo.findData(current) if current is not None else 0
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)

    def set_filter(self, key: str, value) -> None:
        combo = self.filters[key]
        combo.setCurrentIndex(max(0, combo.findData(value)))

    def apply_filters(self) -> None:
        chosen = {key: combo.currentData() for key, combo in self.filters.items()}
        self.model.set_frame(select_findings(self.all, **chosen))
        if not self.all.empty:
            self.table.resizeColumnsToContents()
        self._show_summary()

    def _show_summary(self) -> None:
        active = int(self.all["status"].isin(["open", "confirmed"]).sum()) if not self.all.empty else 0
        self.summary.setText(tr("fp_summary", shown=len(self.model.frame), total=len(self.all), active=active))

    def selected_rows(self) -> list[pd.Series]:
        rows = sorted({self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.frame.iloc[r] for r in rows]

    # -- going to a record -----------------------------------------------------------------------

    def _row_at(self, index) -> pd.Series:
        return self.model.frame.iloc[self.proxy.mapToSource(index).row()]

    def target_of(self, f: pd.Series) -> tuple[str, str]:
        """(map layer, uuid) to show for a finding: its record, a pole attachment's pole, or itself."""
        table, uuid = f["target_table"], f["target_uuid"]
        if self.db is not None and isinstance(uuid, str):
            table, uuid = shown_record(self.db, table, uuid)
        if table in LAYER_OF and isinstance(uuid, str):
            return LAYER_OF[table], uuid
        return "findings", f["uuid"]

    def go_to(self, f: pd.Series) -> None:
        layer, uuid = self.target_of(f)
        try:
            self.window.go_to_feature(layer, uuid)
        except HatangError as exc:
            self.window.statusBar().showMessage(message_text(exc), 8000)
            return
        # A finding about a whole commune (a rule reported per commune) shows that commune.
        if not isinstance(f["target_uuid"], str) and isinstance(f["commune_code"], str) \
                and hasattr(self.window, "zoom_to_commune"):
            self.window.zoom_to_commune(f["commune_code"])

    def _clicked(self, index) -> None:
        self.go_to(self._row_at(index))

    def _double_clicked(self, index) -> None:
        f = self._row_at(index)
        editor = getattr(self.window, "editor", None)
        table, uuid = f["target_table"], f["target_uuid"]
        if editor is None or not editor.writable or not isinstance(uuid, str):
            return
        if table == "pole_attachments":
            table, uuid = self.target_of(f)
        editor.open_form(table, uuid)

    # -- status changes --------------------------------------------------------------------------

    def change_status(self, status: str, reason: str | None = None) -> bool:
        rows = self.selected_rows()
        editor = getattr(self.window, "editor", None)
        if not rows:
            self.window.statusBar().showMessage(tr("fp_none_selected"), 8000)
            return False
        if editor is None or not editor.writable:
            self.window.statusBar().showMessage(tr("fp_need_writable"), 8000)
            return False
        if status == "dismissed" and reason is None:
            reason, ok = QInputDialog.getText(self, tr("fp_dismiss_title"), tr("fp_dismiss_prompt", n=len(rows)))
            if not ok or not reason.strip():
                return False
        uuids = [r["uuid"] for r in rows]
        result = editor.run(lambda: set_status(editor.db, uuids, status, reason=reason))
        self.reload()
        return result is not None

    # -- running the check -----------------------------------------------------------------------

    def start_check(self) -> None:
        if self.db is None or self.db.readonly:
            self.window.statusBar().showMessage(tr("fp_need_writable"), 8000)
            return
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        db = self.db
        self._job = start_job(lambda progress, cancel: run_check(db, progress=progress, cancel=cancel),
                              self._check_done, self._check_failed, cancelled=self._check_cancelled,
                              fault_path=db.path)

    def cancel_check(self) -> None:
        """Cancel pressed: the check stops before it stores any finding."""
        press_cancel(self._job, self.cancel_button)

    def wait_for_check(self, timeout_ms: int = 60000) -> bool:
        return self._job is None or self._job.wait(timeout_ms / 1000)

    def _check_ended(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.hide()

    def _check_cancelled(self) -> None:
        self._check_ended()
        self.window.statusBar().showMessage(tr("job_cancelled"), 8000)
        self.check_finished.emit(None)

    def _check_done(self, result) -> None:
        self._check_ended()
        c = result.changes
        self.window.statusBar().showMessage(tr("fp_checked", new=c.new, resolved=c.resolved, reopened=c.reopened),
                                            8000)
        editor = getattr(self.window, "editor", None)
        if editor is not None:
            editor.push_operation(result.logged)  # one undo step; open findings are a map layer
        self.reload()
        self.check_finished.emit(result)

    def _check_failed(self, exc) -> None:
        self._check_ended()
        message = message_text(exc) if isinstance(exc, HatangError) else f"{type(exc).__name__}: {exc}"
        self.window.statusBar().showMessage(message, 12000)
        self.check_finished.emit(None)
