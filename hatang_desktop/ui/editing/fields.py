"""One input widget per form field type (forms/*.yaml), all with the same small interface.

`value()` returns what the user entered in the shape the core's `editing.validate` parses (text
as typed, codes for choices, a date, a bool, a (lat, lon) pair of texts): checking the value is
the core's job, so the rules live in one place. `set_value()` shows a stored value; `changed`
fires on every edit (conditions show and hide fields live from it).
"""

from __future__ import annotations

import datetime as dt

import shapely
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QPushButton, QWidget)

from hatang_desktop.core.editing import POSITION_DECIMALS
from hatang_desktop.core.forms import TECH_COLUMNS, FieldDef
from hatang_desktop.core.operators import OPERATORS
from hatang_desktop.core.value_lists import ValueList

from ..record_text import geometry_summary, yes_no
from ..strings import format_number, language, message_text, tr


COMBO_MAX_PX = 380


def _row(widget: QWidget, *children) -> QHBoxLayout:
    lay = QHBoxLayout(widget)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(6)
    for c in children:
        if isinstance(c, int):
            lay.addStretch(c)
        else:
            lay.addWidget(c)
    return lay


class FieldWidget(QWidget):
    changed = Signal()

    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(parent)
        self.field = field

    def value(self):
        raise NotImplementedError

    def set_value(self, value) -> None:
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self

    def set_read_only(self) -> None:
        """Shown, not typed (a field the program fills: FieldDef.readonly)."""
        widget = self.focus_widget()
        if isinstance(widget, QLineEdit):
            widget.setReadOnly(True)
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        else:
            self.setEnabled(False)

    def set_error(self, on: bool) -> None:
        # A red frame on the input itself: the message sits under it.
        self.focus_widget().setStyleSheet("border: 1.5px solid #c62828; border-radius: 3px;" if on else "")


class TextField(FieldWidget):
    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.edit = QLineEdit()
        self.edit.textChanged.connect(self.changed)
        _row(self, self.edit)

    def value(self):
        return self.edit.text().strip() or None

    def set_value(self, value) -> None:
        self.edit.setText("" if value is None else str(value))

    def focus_widget(self) -> QWidget:
        return self.edit


def format_decimal(value) -> str:
    if value is None:
        return ""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if language() == "vi" else text


class NumberField(TextField):
    """A line edit, not a spin box: a number can be blank, and a wrong one must stay visible so the
    core can say what is wrong with it next to the field."""

    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.edit.setMaximumWidth(140)
        if field.min is not None and field.max is not None:
            lo, hi = (format_number(v, 0 if float(v).is_integer() else 1) for v in (field.min, field.max))
            self.edit.setPlaceholderText(f"{lo}–{hi}")
        lay = self.layout()
        if field.unit:
            lay.addWidget(QLabel(field.unit_in(language())))
        lay.addStretch(1)

    def set_value(self, value) -> None:
        if isinstance(value, float):
            self.edit.setText(format_decimal(value))
        else:
            super().set_value(value)


class DateField(FieldWidget):
    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.check = QCheckBox()
        self.check.setToolTip(tr("form_blank"))
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("dd/MM/yyyy")
        self.date.setDate(QDate.currentDate())
        self.check.toggled.connect(self.date.setEnabled)
        self.check.toggled.connect(self.changed)
        self.date.dateChanged.connect(self.changed)
        self.check.setVisible(not field.required)  # a required date is always given
        self.check.setChecked(field.required)
        self.date.setEnabled(field.required)
        _row(self, self.check, self.date, 1)

    def value(self):
        if not self.check.isChecked():
            return None
        q = self.date.date()
        return dt.date(q.year(), q.month(), q.day())

    def set_value(self, value) -> None:
        if isinstance(value, str) and value:
            value = dt.date.fromisoformat(value[:10])
        self.check.setChecked(value is not None or self.field.required)
        if value is not None:
            self.date.setDate(QDate(value.year, value.month, value.day))

    def focus_widget(self) -> QWidget:
        return self.date


class CheckField(FieldWidget):
    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.check = QCheckBox(yes_no(True))
        self.check.toggled.connect(self.changed)
        _row(self, self.check, 1)

    def value(self):
        return self.check.isChecked()

    def set_value(self, value) -> None:
        self.check.setChecked(bool(value))

    def focus_widget(self) -> QWidget:
        return self.check


class ComboField(FieldWidget):
    """A closed choice: (label, code) items, with a blank item when the field may stay empty."""

    def __init__(self, field: FieldDef, items: list[tuple[str, str, str]], parent=None, blank: str | None = None) -> None:
        super().__init__(field, parent)
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(18)
        # As wide as its longest item ("Phường Nam Hồng Lĩnh (18118)"), within the form's width.
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.setMaximumWidth(COMBO_MAX_PX)
        if blank is not None:
            self.combo.addItem(blank, None)
        for label, code, tip in items:
            self.combo.addItem(label, code)
            if tip:
                self.combo.setItemData(self.combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.currentIndexChanged.connect(self.changed)
        _row(self, self.combo, 1)

    def value(self):
        return self.combo.currentData()

    def set_value(self, value) -> None:
        i = self.combo.findData(value)
        if i < 0 and value not in (None, ""):
            # A code the list does not know (an older or hand-typed value): shown, not lost.
            self.combo.addItem(str(value), value)
            i = self.combo.count() - 1
        self.combo.setCurrentIndex(max(i, 0))

    def focus_widget(self) -> QWidget:
        return self.combo


class BoolChoiceField(ComboField):
    """A yes/no that may be unknown (no default): blank, Có, Không."""

    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, [(yes_no(True), True, ""), (yes_no(False), False, "")], parent,
                         blank=tr("form_unknown"))

    def set_value(self, value) -> None:
        self.combo.setCurrentIndex({None: 0, True: 1, False: 2}[None if value is None else bool(value)])


class TechField(FieldWidget):
    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.boxes = {t: QCheckBox(t) for t in TECH_COLUMNS}
        for box in self.boxes.values():
            box.toggled.connect(self.changed)
        _row(self, *self.boxes.values(), 1)

    def value(self):
        return tuple(t for t, b in self.boxes.items() if b.isChecked())

    def set_value(self, value) -> None:
        for t, b in self.boxes.items():
            b.setChecked(t in (value or ()))


def _coordinate_text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.{POSITION_DECIMALS}f}"
    return text.replace(".", ",") if language() == "vi" else text


class PositionField(FieldWidget):
    """Latitude and longitude as typed (decimal or DMS), and the place for the GPS button."""

    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.lat, self.lon = QLineEdit(), QLineEdit()
        for edit, key in ((self.lat, "form_lat"), (self.lon, "form_lon")):
            edit.setPlaceholderText(tr(key))
            edit.setToolTip(tr("form_position_tip"))
            # Room for a longitude such as 105,9060027 in the app's font and the frame; 110 left the row
            # with the averaging button 5 px too wide for a 760 px form in DejaVu.
            edit.setMinimumWidth(max(90, edit.fontMetrics().horizontalAdvance("105,0000000") + 14))
            edit.textChanged.connect(self.changed)
            edit.textEdited.connect(self._typed)
        self.gnss: dict | None = None  # the receiver's metadata while the position is the GPS's
        # The GPS part of the issue provides the position source; until one is set the button says
        # why it cannot be used.
        self.gps_button = QPushButton(tr("form_use_gps"))
        self.gps_button.setEnabled(False)
        self.gps_button.setToolTip(tr("form_gps_missing"))
        self.gps_button.clicked.connect(self._use_gps)
        self.gps_provider = None
        _row(self, self.lat, self.lon, self.gps_button)

    def set_gps_provider(self, provider) -> None:
        """`provider()` returns (lat, lon) or raises an error whose message says why not."""
        self.gps_provider = provider
        self.gps_button.setEnabled(provider is not None)
        self.gps_button.setToolTip("" if provider is not None else tr("form_gps_missing"))

    def _use_gps(self) -> None:
        if self.gps_provider is None:
            return
        try:
            got = self.gps_provider()
        except Exception as exc:  # the provider's message (accuracy too poor, no fix) is for the user
            QMessageBox.warning(self, tr("form_use_gps"), message_text(exc))
            return
        self.set_from_gps(got[0], got[1], got[2] if len(got) > 2 else None)

    def set_from_gps(self, lat: float, lon: float, meta: dict | None) -> None:
        """A position the receiver gave (one fix or an average), with its GNSS figures."""
        self.set_value((lat, lon))
        self.gnss = dict(meta) if meta else None
        self.changed.emit()  # again, now with the figures: set_value's signal came before them

    def _typed(self, _text: str) -> None:
        self.gnss = None  # typed by hand: the GPS figures no longer describe it

    def value(self):
        return (self.lat.text().strip() or None, self.lon.text().strip() or None)

    def set_value(self, value) -> None:
        self.gnss = None
        lat, lon = value if value else (None, None)
        # Saved back unchanged, these digits leave the stored position alone (core.editing); the
        # core reads a decimal comma as well, so Vietnamese shows one, as every other number does.
        self.lat.setText(_coordinate_text(lat))
        self.lon.setText(_coordinate_text(lon))

    def focus_widget(self) -> QWidget:
        return self.lat

    def set_error(self, on: bool) -> None:
        for e in (self.lat, self.lon):
            e.setStyleSheet("border: 1.5px solid #c62828; border-radius: 3px;" if on else "")


class GeometryField(FieldWidget):
    """A route's line or a zone's polygon, edited on the map; the form shows what it is."""

    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self.wkt: str | None = None
        self.label = QLabel()
        self.label.setToolTip(tr("form_geometry_tip"))
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # a point to copy
        _row(self, self.label, 1)
        self.set_value(None)

    def value(self):
        return self.wkt

    def set_value(self, value) -> None:
        if isinstance(value, shapely.Geometry):
            value = value.wkt
        self.wkt = value or None
        self.label.setText("\n".join(geometry_summary(shapely.from_wkt(self.wkt) if self.wkt else None)))
        if self.wkt:
            self.changed.emit()


class HiddenField(FieldWidget):
    """A field the form keeps but does not show (a sub-list row's parent reference)."""

    def __init__(self, field: FieldDef, parent=None) -> None:
        super().__init__(field, parent)
        self._value = None

    def value(self):
        return self._value

    def set_value(self, value) -> None:
        self._value = value


def _blank(field: FieldDef) -> str | None:
    # A required choice without a default starts blank: the user picks it, and forgetting to is
    # a "required" message rather than a silent first item.
    return None if field.required and field.default is not None else tr("form_blank")


def make_field(field: FieldDef, lists: dict[str, ValueList], communes: list[tuple[str, str]]) -> FieldWidget:
    lang = language()
    kind = field.type
    if kind in ("integer", "decimal"):
        return NumberField(field)
    if kind == "date":
        return DateField(field)
    if kind == "boolean":
        return CheckField(field) if field.default is not None or field.required else BoolChoiceField(field)
    if kind == "choice":
        items = [(c.label(lang), c.code, c.label("en" if lang == "vi" else "vi")) for c in lists[field.values].choices]
        return ComboField(field, items, blank=_blank(field))
    if kind == "operator":
        items = [(op.brand, op.code, op.name) for op in OPERATORS]
        return ComboField(field, items, blank=_blank(field))
    if kind == "commune":
        return ComboField(field, [(f"{name} ({code})", code, "") for code, name in communes], blank=tr("form_blank"))
    if kind == "technologies":
        return TechField(field)
    if kind == "position":
        return PositionField(field)
    if kind == "geometry":
        return GeometryField(field)
    if kind == "reference":
        return HiddenField(field)
    return TextField(field)


def display_value(field: FieldDef, value, lists: dict[str, ValueList], communes: dict[str, str]) -> str:
    """A parsed value as a table cell shows it."""
    if value in (None, "", ()):
        return ""
    lang = language()
    if field.type == "choice":
        return lists[field.values].label(value, lang)
    if field.type == "operator":
        return next((op.brand for op in OPERATORS if op.code == value), str(value))
    if field.type == "commune":
        return communes.get(value, str(value))
    if field.type == "boolean":
        return yes_no(bool(value))
    if field.type == "technologies":
        return ", ".join(value)
    if field.type == "date":
        return value.strftime("%d/%m/%Y") if isinstance(value, dt.date) else str(value)
    if isinstance(value, float):
        return format_decimal(value)
    return str(value)
