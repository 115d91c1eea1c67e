"""The dashboard's "Số liệu do Sở nhập" tab: the figures no survey on the map gives (broadband
subscriptions per 100 inhabitants, i-Speed speeds), typed per commune and for the province.

Rows: the province, then its communes; columns: each figure with its label and unit; the year is
the dashboard's. Every edited cell is checked by the core's rules (red while wrong); saving writes
all changes in one operation, or nothing when any cell is wrong, and the dashboard recomputes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.indicators.catalogue import BY_KEY, FIGURE_KEYS, UNIT_LABELS
from hatang_desktop.core.indicators.figures import RANGES, check_value

from .. import file_dialogs
from .tables import fit_columns
from ..strings import format_int, language, message_text, tr

FIRST_FIGURE_COLUMN = 2
EDITED = QColor("#fff4c2")
BAD = QColor("#f8c9c9")
ERROR_STYLE = "color: #b00020"


def show_value(v: float | None) -> str:
    """Exact (no rounding: what is shown is what is saved back), with the language's decimal mark."""
    if v is None:
        return ""
    text = f"{v:.6g}"
    return text.replace(".", ",") if language() == "vi" else text


def figure_title(key: str) -> str:
    """A short two-line column title (the full label is the header's tooltip)."""
    return tr(f"fig_short_{key}")


def figure_label(key: str) -> str:
    ind = BY_KEY[key]
    vi = language() == "vi"
    return f"{ind.label_vi if vi else ind.label_en} ({UNIT_LABELS[ind.unit][0 if vi else 1]})"


def range_words(key: str) -> str:
    low, high, low_inclusive = RANGES[BY_KEY[key].unit]
    unit = UNIT_LABELS[BY_KEY[key].unit][0 if language() == "vi" else 1]
    return tr("fig_range_closed" if low_inclusive else "fig_range_open", low=f"{low:g}", high=f"{high:g}",
              unit=unit)


class FiguresTab(QWidget):
    saved = Signal(int)  # how many figures changed

    def __init__(self, dock) -> None:
        super().__init__()
        self.dock = dock
        self.units: list[tuple[str, str]] = []  # (code, name), the table's rows
        self.original: dict[tuple[str, str], float] = {}  # (unit, key) -> value in the database
        self.year: int | None = None
        self.error: str | None = None
        v = QVBoxLayout(self)
        self.hint = QLabel(tr("fig_hint"))
        self.hint.setWordWrap(True)
        v.addWidget(self.hint)
        self.table = QTableWidget(0, FIRST_FIGURE_COLUMN + len(FIGURE_KEYS))
        self.table.setHorizontalHeaderLabels([tr("fig_col_code"), tr("fig_col_unit")] +
                                             [figure_title(k) for k in FIGURE_KEYS])
        for j, key in enumerate(FIGURE_KEYS, start=FIRST_FIGURE_COLUMN):
            self.table.horizontalHeaderItem(j).setToolTip(tr("fig_col_tip", label=figure_label(key),
                                                                     range=range_words(key)))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked |
                                   QAbstractItemView.EditTrigger.EditKeyPressed |
                                   QAbstractItemView.EditTrigger.AnyKeyPressed)
        header = self.table.horizontalHeader()
        # The figures as wide as their three-line titles, the names take the rest (no sideways
        # scroll); the code is in the name's tooltip, its column hidden: a commune is known by
        # its name.
        fit_columns(self.table, stretch=(1,), min_px=64)
        self.table.setColumnHidden(0, True)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header.setFixedHeight(header.fontMetrics().height() * 3 + 12)
        self.table.itemChanged.connect(self._cell_changed)
        v.addWidget(self.table, 1)
        self.message = QLabel()
        self.message.setWordWrap(True)
        v.addWidget(self.message)
        row = QHBoxLayout()
        self.template_button = QPushButton(tr("fig_template"))
        self.template_button.setToolTip(tr("fig_template_tip"))
        self.template_button.clicked.connect(lambda: self.write_template())
        self.import_button = QPushButton(tr("fig_import"))
        self.import_button.setToolTip(tr("fig_import_tip"))
        self.import_button.clicked.connect(lambda: self.import_workbook())
        self.revert_button = QPushButton(tr("fig_revert"))
        self.revert_button.clicked.connect(self.revert)
        self.save_button = QPushButton(tr("fig_save"))
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(lambda: self.save())
        for b in (self.template_button, self.import_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.revert_button)
        row.addWidget(self.save_button)
        v.addLayout(row)
        self._set_dirty(False)

    # -- filling -------------------------------------------------------------------------------

    def fill(self, units: list[tuple[str, str]], figures: list[tuple[str, int, str, float]], year: int) -> None:
        """Show `year`'s figures of `units` (province first); unsaved edits are dropped."""
        if year != self.year:  # a message about another year's figures no longer applies
            self.message.clear()
            self.message.setStyleSheet("")
        self.units, self.year = units, year
        self.original = {(u, k): v for u, y, k, v in figures if y == year and k in FIGURE_KEYS}
        t = self.table
        t.blockSignals(True)
        t.setRowCount(len(units))
        for i, (code, name) in enumerate(units):
            for j, text in enumerate((code, name)):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{name} ({code})")
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if i == 0:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                t.setItem(i, j, item)
            for j, key in enumerate(FIGURE_KEYS, start=FIRST_FIGURE_COLUMN):
                item = QTableWidgetItem(show_value(self.original.get((code, key))))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(i, j, item)
        t.blockSignals(False)

        entered = len(self.original)
        self.hint.setText(tr("fig_hint_year", year=year, n=format_int(entered)))
        self._set_dirty(False)

    def _set_dirty(self, dirty: bool) -> None:
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)

    def revert(self) -> None:
        if self.year is not None:
            figures = [(u, self.year, k, v) for (u, k), v in self.original.items()]
            self.fill(self.units, figures, self.year)

    # -- checking ------------------------------------------------------------------------------

    def _cell(self, row: int, col: int) -> tuple[str, str, str]:
        """(unit code, figure key, text) of a figure cell."""
        item = self.table.item(row, col)
        return self.units[row][0], FIGURE_KEYS[col - FIRST_FIGURE_COLUMN], item.text() if item else ""

    def _problem(self, row: int, col: int) -> str | None:
        code, key, text = self._cell(row, col)
        _value, problem = check_value(key, text)
        if problem is None:
            return None
        ind = BY_KEY[key]
        reason = tr("fig_not_number") if problem == "phải là một số" else tr("fig_out_of_range",
                                                                              range=range_words(key))
        return tr("fig_bad_value", unit=self.units[row][1], code=code,
                  figure=ind.label_vi if language() == "vi" else ind.label_en, value=text.strip(), reason=reason)

    def _cell_changed(self, item: QTableWidgetItem) -> None:
        row, col = item.row(), item.column()
        if col < FIRST_FIGURE_COLUMN or row >= len(self.units):
            return
        problem = self._problem(row, col)
        code, key, text = self._cell(row, col)
        value, _ = check_value(key, text)
        changed = problem is not None or value != self.original.get((code, key))
        self.table.blockSignals(True)
        item.setBackground(QBrush(BAD) if problem else QBrush(EDITED) if changed else QBrush())
        item.setToolTip(problem or "")
        self.table.blockSignals(False)
        if problem:
            self._show_error(problem)
        else:
            self.message.clear()
            self.message.setStyleSheet("")
        self._set_dirty(bool(self.changes(check=False)) or problem is not None)

    def _show_error(self, text: str) -> None:
        self.error = text
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setText(text)

    def changes(self, *, check: bool = True) -> dict[str, dict[str, float | None]]:
        """{unit: {key: new value or None (removed)}} of the cells that differ from the database.
        With `check`, the first bad cell raises ValueError with the message naming commune and figure."""
        out: dict[str, dict[str, float | None]] = {}
        for row in range(len(self.units)):
            for col in range(FIRST_FIGURE_COLUMN, self.table.columnCount()):
                code, key, text = self._cell(row, col)
                value, problem = check_value(key, text)
                if problem:
                    if check:
                        self.table.setCurrentCell(row, col)
                        raise ValueError(self._problem(row, col))
                    continue
                if value != self.original.get((code, key)):
                    out.setdefault(code, {})[key] = value
        return out

    # -- saving --------------------------------------------------------------------------------

    def _database(self, path):
        """The window's database when it can write; else a read-write one opened for this save
        (the caller closes it)."""
        from hatang_desktop.core.storage.targets import open_database

        from ..loader import target_of

        db = getattr(self.dock.window_, "db", None)
        if db is not None and not db.readonly and target_of(db) == str(path):
            return db, False
        return open_database(str(path)), True

    def save(self) -> int | None:
        """Check every cell, then write all changes in one operation; None when nothing was saved."""
        from hatang_desktop.core.indicators.figures import save_figures

        path = self.dock._path
        if path is None or self.year is None:
            return None
        try:
            table = self.changes()
        except ValueError as exc:
            self._show_error(tr("fig_not_saved", problem=exc))
            return None
        if not table:
            self.message.setStyleSheet("")
            self.message.setText(tr("fig_nothing"))
            return 0
        try:
            db, own = self._database(path)
            try:
                n = save_figures(db, self.year, table, source="dashboard")
            finally:
                if own:
                    db.close()
        except HatangError as exc:
            self._show_error(tr("fig_not_saved", problem=exc))
            return None
        self.original.update({(u, k): v for u, vals in table.items() for k, v in vals.items() if v is not None})
        for u, vals in table.items():
            for k, v in vals.items():
                if v is None:
                    self.original.pop((u, k), None)
        self.revert()  # redraw from what is now in the database (clears the edit colours)
        self.message.setStyleSheet("color: #1a7f37")
        self.message.setText(tr("fig_saved", n=format_int(n), year=self.year))
        self.saved.emit(n)
        return n

    # -- workbook ------------------------------------------------------------------------------

    def write_template(self, out: str | None = None) -> str | None:
        from hatang_desktop.core.indicators.figures import write_template
        from hatang_desktop.core.storage.targets import open_database

        from ..loader import sibling_file

        path = self.dock._path
        if path is None:
            return None
        if out is None:
            out, _ = file_dialogs.save_file_name(self, tr("fig_template"), sibling_file(
                path, f"so_lieu_so_nhap_{self.year}.xlsx"), "Excel (*.xlsx)")
            if not out:
                return None
        try:
            with open_database(str(path), readonly=True) as db:
                write_template(db, out, year=self.year)
        except HatangError as exc:
            self._show_error(message_text(exc))
            return None
        self.message.setStyleSheet("")
        self.message.setText(tr("fig_template_done", path=out))
        return out

    def import_workbook(self, src: str | None = None) -> dict | None:
        """Read a filled template (every cell checked; nothing written on any problem), then recompute."""
        from hatang_desktop.core.indicators.figures import import_figures

        from ..loader import start_folder

        path = self.dock._path
        if path is None:
            return None
        if src is None:
            src, _ = file_dialogs.open_file_name(self, tr("fig_import"), start_folder(path), "Excel (*.xlsx)")
            if not src:
                return None
        try:
            db, own = self._database(path)
            try:
                done = import_figures(db, src, year=self.year)
            finally:
                if own:
                    db.close()
        except HatangError as exc:
            self._show_error(message_text(exc))
            return None
        self.message.setStyleSheet("color: #1a7f37")
        self.message.setText(tr("fig_imported", n=format_int(done["figures"]), changed=format_int(done["changed"])))
        self.saved.emit(done["changed"])
        return done
