"""A Qt form generated from a form definition (forms/*.yaml) and its sub-list table (form_dialog.py
puts them in the record's dialog).

Nothing here knows a field by name: labels, widgets, units, help, required marks and conditions
all come from the definition, so a province's edit to a YAML file shows up in the form as is.
Validation is the core's (`core.editing.validate`); the form only shows its messages next to the
fields they concern.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from hatang_desktop.core.editing import defaults, validate
from hatang_desktop.core.forms import FormDef
from hatang_desktop.core.value_lists import ValueList

from ..strings import language, message_text, tr
from .fields import FieldWidget, HiddenField, PositionField, display_value, make_field
from .position_quality import attach_to_form

ERROR_STYLE = "color: #c62828;"
LABEL_MAX_PX = 190


def error_label() -> QLabel:
    """A red message line, hidden until it has something to say (under a field, a sub-list)."""
    label = QLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def wrap_if_long(label: QLabel) -> None:
    """A long label wraps in a column of its own width rather than widening the form past a
    1366 px screen; a short one stays on one line."""
    if label.sizeHint().width() > LABEL_MAX_PX:
        label.setWordWrap(True)
        label.setFixedWidth(LABEL_MAX_PX)


def _other(label) -> str:
    return label.en if language() == "vi" else label.vi


class FormWidget(QWidget):
    """The fields of one record type, one row each, with an error line under each field."""

    changed = Signal()
    problems_cleared = Signal()  # the last message under a field went: its field is valid now

    def __init__(self, form: FormDef, lists: dict[str, ValueList], communes: list[tuple[str, str]],
                 parent=None) -> None:
        super().__init__(parent)
        self.form = form
        self.lists = lists
        self.fields: dict[str, FieldWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.labels: dict[str, QLabel] = {}
        self.communes = dict(communes)
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.layout_.setVerticalSpacing(6)
        lang = language()
        for f in form.fields:
            widget = make_field(f, lists, communes)
            self.fields[f.key] = widget
            widget.changed.connect(self._changed)
            widget.changed.connect(lambda key=f.key: self._recheck(key))
            if f.readonly:  # the GPS figures: shown, never typed (core/forms.py FieldDef.readonly)
                widget.set_read_only()
            if isinstance(widget, HiddenField):
                continue
            text = f.shown_label(lang) + (" *" if f.required else "")
            label = QLabel(text)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            wrap_if_long(label)
            tip = [f"<b>{escape(f.shown_label(lang))}</b> <i>({escape(_other(f.form_label or f.label))})</i>"]
            if f.help is not None:
                tip.append(escape(f.help(lang)))
            if f.unit:
                tip.append(escape(f.unit_in(language())))
            label.setToolTip("<br>".join(tip))
            if f.help is not None:
                widget.setToolTip(f.help(lang))
            box = QWidget()
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(2)
            col.addWidget(widget)
            error = error_label()
            col.addWidget(error)
            self.layout_.addRow(label, box)
            self.labels[f.key] = label
            self.errors[f.key] = error
        self.position_quality = attach_to_form(self)  # the GPS figures under the position
        self.set_values(defaults(form))

    # -- values ------------------------------------------------------------------------------

    def set_values(self, values: dict) -> None:
        """Show a record's values (as core.editing.read_values gives them; a position is lat/lon)."""
        for key, widget in self.fields.items():
            if isinstance(widget, PositionField):
                if "lat" in values or "lon" in values:
                    widget.set_value((values.get("lat"), values.get("lon")))
            elif key in values:
                widget.set_value(values[key])
        self.update_conditions()
        if self.position_quality is not None:
            self.position_quality.refresh(values)

    def raw_values(self) -> dict:
        return {key: w.value() for key, w in self.fields.items()}

    def values(self) -> dict:
        """What the user entered; a field hidden by its condition counts as empty. Read-only
        fields are left out: the record keeps what it holds (the GPS figures go with `gnss()`)."""
        raw = self.raw_values()
        for f in self.form.fields:
            if f.when is not None and not f.when.holds(raw):
                raw[f.key] = None if f.type != "position" else (None, None)
        for f in self.form.fields:
            if f.readonly:
                raw.pop(f.key, None)
        return raw

    def gnss(self) -> dict | None:
        """The GPS metadata of the position, when it was taken from the receiver."""
        return next((w.gnss for w in self.fields.values() if isinstance(w, PositionField)), None)

    def set_gps_provider(self, provider) -> None:
        for w in self.fields.values():
            if isinstance(w, PositionField):
                w.set_gps_provider(provider)

    # -- conditions and problems ---------------------------------------------------------------

    def _changed(self) -> None:
        gnss = self.gnss()
        if gnss and not getattr(self, "_showing_gnss", False):
            # A position just taken from the GPS: its figures in the read-only fields.
            self._showing_gnss = True
            try:
                for key, value in gnss.items():
                    widget = self.fields.get(key)
                    if widget is not None and widget.field.readonly:
                        widget.set_value(value)
            finally:
                self._showing_gnss = False
        self.update_conditions()
        self.changed.emit()

    def update_conditions(self) -> None:
        raw = self.raw_values()
        for f in self.form.fields:
            if f.when is not None and f.key in self.labels:
                self.layout_.setRowVisible(self.labels[f.key], f.when.holds(raw))

    def is_shown(self, key: str) -> bool:
        label = self.labels.get(key)
        return label is not None and self.layout_.isRowVisible(label)

    def _recheck(self, key: str) -> None:
        """A field with a message under it was edited: the message goes as soon as the core
        finds nothing wrong with the field any more (not at the next save)."""
        error = self.errors.get(key)
        if error is None or error.isHidden():
            return
        _values, problems = validate(self.form, self.values(), lists=self.lists, communes=self.communes)
        if any(k == key for k, _m in problems):
            return
        error.clear()
        error.hide()
        self.fields[key].set_error(False)
        if not self.has_problems():
            self.problems_cleared.emit()

    def has_problems(self) -> bool:
        return any(not e.isHidden() for e in self.errors.values())

    def clear_problems(self) -> None:
        for key, error in self.errors.items():
            error.clear()
            error.hide()
            self.fields[key].set_error(False)

    def show_problems(self, problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Put each message under its field; returns those that belong to no field of this form."""
        self.clear_problems()
        rest, first = [], None
        for key, message in problems:
            error = self.errors.get(key)
            if error is None:
                rest.append((key, message))
                continue
            text = message_text(message)
            error.setText(f"{error.text()}\n{text}" if error.text() else text)
            error.show()
            self.fields[key].set_error(True)
            first = first or self.fields[key]
        if first is not None:
            first.focus_widget().setFocus()
        return rest


class SubRowDialog(QDialog):
    """One row of a sub-list (a tenant, an attachment) in its own generated form."""

    def __init__(self, form: FormDef, lists, communes, values: dict | None, parent=None) -> None:
        super().__init__(parent)
        self.form, self.lists = form, lists
        self.communes = dict(communes)
        self.setWindowTitle(form.label(language()))
        self.form_widget = FormWidget(form, lists, communes)
        if values:
            self.form_widget.set_values(values)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(tr("form_ok"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("form_cancel").replace("&", ""))
        buttons.accepted.connect(self.check_and_accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        lay = QVBoxLayout(self)
        lay.addWidget(self.form_widget)
        lay.addWidget(buttons)
        self.result_values: dict | None = None
        self.setMinimumWidth(460)

    def check_and_accept(self) -> None:
        values, problems = validate(self.form, self.form_widget.values(), lists=self.lists, communes=self.communes)
        # The parent reference is filled when the parent is saved.
        problems = [(k, m) for k, m in problems if k != self.form.parent["key"]]
        if problems:
            self.form_widget.show_problems(problems)
            return
        self.result_values = values
        self.accept()


class SubListWidget(QWidget):
    """A parent's sub-list (site tenants, pole attachments) as a table, rows edited in a small form."""

    changed = Signal()

    def __init__(self, form: FormDef, lists: dict[str, ValueList], communes: list[tuple[str, str]],
                 parent=None) -> None:
        super().__init__(parent)
        self.form, self.lists, self.communes = form, lists, communes
        self.columns = [f for f in form.fields if f.type != "reference"]
        self._rows: list[dict] = []
        self.table = QTableWidget(0, len(self.columns))
        self.table.setHorizontalHeaderLabels([f.label(language()) + (f" ({f.unit_in(language())})" if f.unit else "")
                                              for f in self.columns])
        for i, f in enumerate(self.columns):
            item = self.table.horizontalHeaderItem(i)
            other = "en" if language() == "vi" else "vi"
            item.setToolTip(_other(f.label) + (f" ({f.unit_in(other)})" if f.unit else ""))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(110)
        self.table.doubleClicked.connect(lambda _i: self.edit_row())
        self.add_button = QPushButton(tr("form_sub_add"))
        self.edit_button = QPushButton(tr("form_sub_edit"))
        self.remove_button = QPushButton(tr("form_sub_remove"))
        self.add_button.clicked.connect(lambda: self.add_row())
        self.edit_button.clicked.connect(lambda: self.edit_row())
        self.remove_button.clicked.connect(lambda: self.remove_row())
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.error = error_label()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.table)
        lay.addLayout(buttons)
        lay.addWidget(self.error)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._selection_changed()

    def set_rows(self, rows: list[dict]) -> None:
        self._rows = [dict(r) for r in rows]
        self._fill()

    def rows(self) -> list[dict]:
        return [dict(r) for r in self._rows]

    def _fill(self) -> None:
        communes = dict(self.communes)
        self.table.setRowCount(len(self._rows))
        for i, r in enumerate(self._rows):
            for j, f in enumerate(self.columns):
                item = QTableWidgetItem(display_value(f, r.get(f.key), self.lists, communes))
                self.table.setItem(i, j, item)
        self._selection_changed()

    def _selection_changed(self) -> None:
        has = bool(self.table.selectionModel().selectedRows())
        self.edit_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def current_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def row_dialog(self, values: dict | None) -> SubRowDialog:
        return SubRowDialog(self.form, self.lists, self.communes, values, self)

    def add_row(self, values: dict | None = None, dialog: SubRowDialog | None = None) -> bool:
        dialog = dialog or self.row_dialog(values)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self._rows.append(dialog.result_values)
        self._fill()
        self.table.selectRow(len(self._rows) - 1)
        self.changed.emit()
        return True

    def edit_row(self, index: int | None = None, dialog: SubRowDialog | None = None) -> bool:
        index = self.current_row() if index is None else index
        if not 0 <= index < len(self._rows):
            return False
        dialog = dialog or self.row_dialog(self._rows[index])
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        uuid = self._rows[index].get("uuid")
        self._rows[index] = dialog.result_values | ({"uuid": uuid} if uuid else {})
        self._fill()
        self.changed.emit()
        return True

    def remove_row(self, index: int | None = None) -> None:
        index = self.current_row() if index is None else index
        if 0 <= index < len(self._rows):
            del self._rows[index]
            self._fill()
            self.changed.emit()

    def show_problems(self, problems: list[tuple[int, str, str]]) -> None:
        """(row index, field key, message): the row turns red, the messages go under the table."""
        for i in range(self.table.rowCount()):
            for j in range(self.table.columnCount()):
                item = self.table.item(i, j)
                if item is not None:
                    item.setBackground(QColor(0, 0, 0, 0))
                    item.setToolTip("")
        lines = []
        labels = {f.key: f.label(language()) for f in self.form.fields}
        for row, key, message in problems:
            text = message_text(message)
            label = labels.get(key, "")
            lines.append(tr("form_sub_row_error", row=row + 1, message=f"{label}: {text}" if label else text))
            for j in range(self.table.columnCount()):
                item = self.table.item(row, j)
                if item is not None:
                    item.setBackground(QColor("#fde7e7"))
                    item.setToolTip(text)
        self.error.setText("\n".join(lines))
        self.error.setVisible(bool(lines))
