"""A record's form dialog: the generated fields, its sub-list (a table of rows, or the operators
and technologies grid of a site), the photo strip, and Lưu/Hủy."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QGroupBox, QLabel, QPushButton, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from hatang_desktop.core.forms import FormDef
from hatang_desktop.core.value_lists import ValueList

from ..strings import language, message_text, tr
from .form_widget import FormWidget, SubListWidget, wrap_if_long
from .tenant_grid import TenantGrid, fits

FORM_WIDTH_PX = 760  # the narrowest a form opens: room for a sub-list row and its inputs


class FormDialog(QDialog):
    """A record's form: fields, sub-list, photos, Save/Cancel.

    `on_save(values, children)` does the saving (the editing controller): it returns True when the
    record is saved (the dialog closes), a list of (field key, message) to show, or False to stay
    open quietly (the user went back from the duplicate question)."""

    def __init__(self, title: str, form: FormDef, lists: dict[str, ValueList], communes: list[tuple[str, str]],
                 values: dict | None = None, *, child_form: FormDef | None = None, children: list[dict] | None = None,
                 on_save=None, new: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = form
        self.on_save = on_save
        heading = QLabel(f"<b style='font-size:13pt'>{escape(title)}</b><br>"
                         f"<span style='color:#666'>{escape(tr('form_required_note'))}</span>")
        self.banner = QLabel()
        self.banner.setStyleSheet("background: #fdecea; color: #8e1b1b; padding: 6px; border-radius: 3px;")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.form_widget = FormWidget(form, lists, communes)
        if values:
            self.form_widget.set_values(values)
        self.form_widget.problems_cleared.connect(self._problems_cleared)
        body = QWidget()
        body_lay = QVBoxLayout(body)
        # Every part keeps its natural height and the scroll area scrolls: squeezed rows would
        # hide the error lines under the fields.
        self.form_widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        body_lay.addWidget(self.form_widget)
        self.sub_list: SubListWidget | TenantGrid | None = None
        if child_form is not None and fits(child_form):
            self._add_tenant_grid(child_form, lists, communes, children or [], new)
        elif child_form is not None:
            group = QGroupBox(child_form.label(language()))
            g = QVBoxLayout(group)
            self.sub_list = SubListWidget(child_form, lists, communes)
            self.sub_list.set_rows(children or [])
            g.addWidget(self.sub_list)
            body_lay.addWidget(group)
        # The photos part of the issue puts its photo list here (set_photo_widget).
        self.photos_box = QGroupBox(tr("form_photos"))
        self.photos_layout = QVBoxLayout(self.photos_box)
        self.photos_placeholder = QLabel(tr("form_photos_later"))
        self.photos_placeholder.setStyleSheet("color: #666")
        self.photos_layout.addWidget(self.photos_placeholder)
        body_lay.addWidget(self.photos_box)
        body_lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(tr("form_save"))
        self.save_button.setDefault(True)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("form_cancel"))
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(heading)
        lay.addWidget(self.banner)
        lay.addWidget(scroll, 1)
        lay.addWidget(buttons)
        self._body = body
        self._fit_screen(720 if child_form is not None else 640)

    def _add_tenant_grid(self, child_form: FormDef, lists, communes, children: list[dict], new: bool) -> None:
        """The operators and their technologies as rows of the form, under the record's operator."""
        grid = TenantGrid(child_form, lists, communes)
        grid.owner_always = new
        owner = next((w for w in self.form_widget.fields.values() if w.field.type == "operator"), None)
        grid.set_rows(children)
        if owner is not None:
            grid.set_owner(owner.value())
            owner.changed.connect(lambda: grid.set_owner(owner.value()))
        label = QLabel(child_form.label(language()))
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        wrap_if_long(label)
        layout = self.form_widget.layout_
        row = layout.rowCount()
        if owner is not None and owner.field.key in self.form_widget.labels:
            row, _role = layout.getWidgetPosition(self.form_widget.labels[owner.field.key])
            row += 1
        layout.insertRow(row, label, grid)
        self.sub_list = grid

    def _fit_screen(self, height: int) -> None:
        """Wide enough for every row (nothing scrolls sideways), never taller than the screen."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        width = max(self._body.minimumSizeHint().width() + 40, FORM_WIDTH_PX)
        if screen is not None:
            width, height = min(width, screen.width() - 40), min(height, screen.height() - 60)
        self.resize(width, height)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # Enter in any field saves, as in every dialog: the buttons inside the form (GPS, add row,
        # photos, added after construction too) would otherwise take Enter when focused last.
        for button in self._body.findChildren(QPushButton):
            button.setAutoDefault(False)
        # The cursor waits in the first empty field to fill, so a user can type at once.
        for key, widget in self.form_widget.fields.items():
            if self.form_widget.is_shown(key) and widget.value() in (None, "", ()):
                target = widget.focus_widget()
                if target is not None and target.isEnabled() and target.focusPolicy() != Qt.FocusPolicy.NoFocus:
                    target.setFocus(Qt.FocusReason.OtherFocusReason)
                    return

    def set_photo_widget(self, widget: QWidget) -> None:
        self.photos_placeholder.hide()
        self.photos_box.setTitle("")  # the photo strip carries its own heading
        self.photos_box.setFlat(True)
        self.photos_layout.setContentsMargins(0, 0, 0, 0)
        widget.setMinimumHeight(max(widget.minimumSizeHint().height(), 200))
        self.photos_layout.addWidget(widget)

    def values(self) -> dict:
        return self.form_widget.values()

    def children(self) -> list[dict] | None:
        return self.sub_list.rows() if self.sub_list is not None else None

    def save(self) -> bool:
        if self.on_save is None:
            self.accept()
            return True
        outcome = self.on_save(self.values(), self.children())
        if outcome is True:
            self.accept()
            return True
        if outcome is False:
            return False
        self.show_problems(outcome)
        return False

    def show_problems(self, problems: list[tuple[str, str]]) -> None:
        rest = self.form_widget.show_problems(problems)
        sub, other = [], []
        child = self.sub_list.form.record if self.sub_list is not None else None
        for key, message in rest:
            if child and key.startswith(child + "["):
                index, _, field = key[len(child) + 1:].partition("]")
                sub.append((int(index), field.lstrip("."), message))
            else:
                other.append(message_text(message))
        if self.sub_list is not None:
            self.sub_list.show_problems(sub)
        lines = [tr("form_has_errors", n=len(problems))] + other
        self.banner.setText("\n".join(lines))
        self.banner.show()
        self._banner_other = bool(other)

    def _problems_cleared(self) -> None:
        """Every field message is gone: the count over the form goes too, unless it says more."""
        sub_error = getattr(self.sub_list, "error", None)
        if not getattr(self, "_banner_other", False) and (sub_error is None or sub_error.isHidden()):
            self.banner.hide()
