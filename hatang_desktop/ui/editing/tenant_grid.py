"""The operators on a site and their technologies, ticked on the site form itself.

A sub-list whose definition has an operator and a technologies field (forms/site_tenants.yaml)
is shown as a grid: one row per operator, the record's own operator first (and always kept), a
check box per technology (the `technologies` value list), and an input per other text field
(the tenant's own site code). A row is a sub-list row when something is ticked or typed in it;
a row the record already had stays as it was until the user changes it, and one emptied by the
user is removed when the form is saved (a tombstone, as the sub-list table does it).

Rows go to `core.editing.save_record` as `children`, like any sub-list: the storage and the
change log are those of site_tenants. Labels come from the definition, operators' names from
core.operators.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from hatang_desktop.core.forms import TECH_COLUMNS, FormDef
from hatang_desktop.core.operators import BY_CODE, OPERATORS, UNKNOWN
from hatang_desktop.core.value_lists import ValueList

from ..strings import language, message_text, tr
from .form_widget import ERROR_STYLE, error_label


def fits(form: FormDef) -> bool:
    """Whether a sub-list is the operators-and-technologies kind this grid shows."""
    kinds = {f.type for f in form.fields}
    return {"operator", "technologies"} <= kinds


class _Row:
    def __init__(self, code: str) -> None:
        self.code = code
        self.label = QLabel(BY_CODE[code].brand if code in BY_CODE else code)
        self.label.setToolTip(BY_CODE[code].name if code in BY_CODE else code)
        self.boxes = {t: QCheckBox(t) for t in TECH_COLUMNS}
        self.edits: dict[str, QLineEdit] = {}
        self.base: dict | None = None  # the stored row, when the record had it
        self.touched = False

    def ticked(self) -> tuple[str, ...]:
        return tuple(t for t, b in self.boxes.items() if b.isChecked())

    def typed(self) -> dict[str, str | None]:
        return {k: e.text().strip() or None for k, e in self.edits.items()}

    def has_data(self) -> bool:
        return bool(self.ticked()) or any(self.typed().values())


class TenantGrid(QWidget):
    """Same interface as the sub-list table (set_rows, rows, show_problems, changed)."""

    changed = Signal()

    def __init__(self, form: FormDef, lists: dict[str, ValueList], communes, parent=None) -> None:
        super().__init__(parent)
        self.form, self.lists = form, lists
        self.op_key = next(f.key for f in form.fields if f.type == "operator")
        self.tech_key = next(f.key for f in form.fields if f.type == "technologies")
        self.text_fields = [f for f in form.fields if f.type == "text"]
        self.owner: str | None = None
        self.owner_always = False  # a new record: its own operator is a row even with nothing ticked
        self._rows: dict[str, _Row] = {}
        self._order: list[str] = []
        self._last: list[str] = []  # the operator of each row rows() returned (problems name them)
        self.grid = QGridLayout()
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(2)
        self.error = error_label()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.grid)
        lay.addWidget(self.error)
        # No heading row: each box says its technology, each input its field (placeholder).
        self.grid.setColumnStretch(len(TECH_COLUMNS) + len(self.text_fields), 1)
        for op in OPERATORS:
            if op.code != UNKNOWN:  # "not known yet" never broadcasts on a site
                self._add_row(op.code)
        self._place()

    # -- rows ------------------------------------------------------------------------------------

    def _add_row(self, code: str) -> _Row:
        row = _Row(code)
        for box in row.boxes.values():
            box.toggled.connect(lambda _on, r=row: self._edited(r))
        for f in self.text_fields:
            edit = QLineEdit()
            edit.setPlaceholderText(f.label(language()))
            edit.setMinimumWidth(60)
            edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            edit.setToolTip(f.label(language()) + (f": {f.help(language())}" if f.help is not None else ""))
            edit.textEdited.connect(lambda _t, r=row: self._edited(r))
            row.edits[f.key] = edit
        self._rows[code] = row
        self._order.append(code)
        return row

    def _edited(self, row: _Row) -> None:
        row.touched = True
        self.changed.emit()

    def _place(self) -> None:
        """Lay the rows out, the record's own operator first."""
        for row in self._rows.values():  # taken out, then put back in the new order
            for w in (row.label, *row.boxes.values(), *row.edits.values()):
                self.grid.removeWidget(w)
        for i, code in enumerate(self._ordered()):
            row = self._rows[code]
            font = QFont(row.label.font())
            font.setBold(code == self.owner)
            row.label.setFont(font)
            row.label.setText((BY_CODE[code].brand if code in BY_CODE else code)
                              + (f" ({tr('form_tenant_owner')})" if code == self.owner else ""))
            self.grid.addWidget(row.label, i, 0)
            for j, box in enumerate(row.boxes.values(), start=1):
                self.grid.addWidget(box, i, j)
            for j, edit in enumerate(row.edits.values(), start=1 + len(row.boxes)):
                self.grid.addWidget(edit, i, j)

    def _ordered(self) -> list[str]:
        return sorted(self._order, key=lambda c: (c != self.owner, self._order.index(c)))

    def set_owner(self, code: str | None) -> None:
        """The record's own operator (its operator field): its row comes first. An operator
        not known yet (a reference point to verify) broadcasts nothing: no row of its own."""
        code = None if code == UNKNOWN else code
        if code and code not in self._rows:
            self._add_row(code)
        self.owner = code or None
        self._place()

    def row_of(self, code: str) -> _Row:
        return self._rows[code]

    def set_rows(self, rows: list[dict]) -> None:
        for row in self._rows.values():
            row.base, row.touched = None, False
            for box in row.boxes.values():
                box.blockSignals(True)
                box.setChecked(False)
                box.blockSignals(False)
            for edit in row.edits.values():
                edit.setText("")
        for r in rows:
            code = r.get(self.op_key)
            if not code:
                continue
            row = self._rows.get(code) or self._add_row(code)
            row.base = dict(r)
            techs = r.get(self.tech_key) or ()
            for t, box in row.boxes.items():
                box.blockSignals(True)
                box.setChecked(t in techs)
                box.blockSignals(False)
            for key, edit in row.edits.items():
                edit.setText("" if r.get(key) is None else str(r[key]))
        self._place()

    def rows(self) -> list[dict]:
        out, self._last = [], []
        for code in self._ordered():
            row = self._rows[code]
            own = code == self.owner and (row.base is not None or self.owner_always)
            kept = row.base is not None and not row.touched
            if not (row.has_data() or own or kept):
                continue
            if kept:
                out.append(dict(row.base))
            else:
                out.append({k: v for k, v in (row.base or {}).items() if k == "uuid"}
                           | {self.op_key: code, self.tech_key: row.ticked()} | row.typed())
            self._last.append(code)
        return out

    # -- problems --------------------------------------------------------------------------------

    def show_problems(self, problems: list[tuple[int, str, str]]) -> None:
        """(index in rows(), field key, message): the operator's name turns red, the messages
        go under the grid, named by operator."""
        for row in self._rows.values():
            row.label.setStyleSheet("")
        labels = {f.key: f.label(language()) for f in self.form.fields}
        lines = []
        for index, key, message in problems:
            code = self._last[index] if 0 <= index < len(self._last) else None
            name = self._rows[code].label.text() if code else ""
            if code:
                self._rows[code].label.setStyleSheet(ERROR_STYLE)
            text = message_text(message)
            label = labels.get(key, "")
            lines.append(f"{name}: {label + ': ' if label else ''}{text}" if name else text)
        self.error.setText("\n".join(lines))
        self.error.setVisible(bool(lines))

    def clear_problems(self) -> None:
        self.show_problems([])


__all__ = ["TenantGrid", "fits"]
