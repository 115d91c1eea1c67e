"""How good a record's position is: the accuracy, HDOP, satellites, source and time of the GPS fix
it came from (the GNSS columns of sites, poles and findings, core.gps.GNSS_COLUMNS), said next to
the position in the form and in the identify panel.

A position without these figures was placed on the map, typed or imported: said so, because
"no accuracy" is itself what a checker needs to know about a point.

Labels come from forms/ (the read-only GNSS fields); only the joining words are the UI's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from PySide6.QtWidgets import QLabel, QWidget

from hatang_desktop.core.gps import DEFAULT_MAX_ACCURACY_M, GNSS_COLUMNS

from ..gps_fix_view import GOOD, POOR, time_text
from ..record_text import field_label
from ..strings import format_number, tr

_ACCURACY, _HDOP, _SATELLITES, _TIME, _SOURCE, _COUNT = GNSS_COLUMNS


def has_gnss_columns(keys) -> bool:
    return _ACCURACY in keys


def _present(meta: Mapping | None) -> dict:
    return {k: meta[k] for k in GNSS_COLUMNS if meta and meta.get(k) not in (None, "")}


def _fix_time(text: str) -> str:
    """The stored UTC time ("2025-03-14T01:32:19Z") as the GPS dock shows a fix's time."""
    try:
        when = dt.datetime.fromisoformat(text.rstrip("Z"))
    except ValueError:
        return text
    return time_text(when.replace(tzinfo=None)).replace("\n", " / ")


def accuracy_text(metres: float) -> str:
    return f"± {format_number(metres, 1)} m"


def quality_rows(table: str, attributes: Mapping) -> list[tuple[str, str]]:
    """(label, value) rows for the identify panel: each GNSS figure the record has, or one row
    saying the position did not come from a GPS."""
    got = _present(attributes)
    if not got:
        return [(field_label(table, _ACCURACY), tr("pq_no_gps"))]
    rows = []
    if _ACCURACY in got:  # the label carries the unit: "Độ chính xác GPS (m)"
        rows.append((field_label(table, _ACCURACY), f"± {format_number(got[_ACCURACY], 1)}"))
    if _HDOP in got:
        rows.append((field_label(table, _HDOP), format_number(got[_HDOP], 2)))
    if _SATELLITES in got:
        rows.append((field_label(table, _SATELLITES), str(got[_SATELLITES])))
    if _SOURCE in got:
        rows.append((field_label(table, _SOURCE), str(got[_SOURCE])))
    if _TIME in got:
        rows.append((field_label(table, _TIME), _fix_time(str(got[_TIME]))))
    if got.get(_COUNT, 1) > 1:
        rows.append((field_label(table, _COUNT), str(got[_COUNT])))
    return rows


def summary(meta: Mapping | None) -> str | None:
    """One line: "Vị trí GPS: ± 1,9 m · HDOP 0,97 · 9 vệ tinh · nmea-log:walk.nmea", or None."""
    got = _present(meta)
    if not got:
        return None
    parts = []
    if _ACCURACY in got:
        parts.append(accuracy_text(got[_ACCURACY]))
    if _HDOP in got:
        parts.append(f"HDOP {format_number(got[_HDOP], 2)}")
    if _SATELLITES in got:
        parts.append(tr("pq_satellites", n=got[_SATELLITES]))
    if got.get(_COUNT, 1) > 1:
        parts.append(tr("pq_averaged", n=got[_COUNT]))
    if _SOURCE in got:
        parts.append(str(got[_SOURCE]))
    return tr("pq_summary", parts=" · ".join(parts))


class PositionQuality(QLabel):
    """The line under a form's position: the GPS figures, or that the position has none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.hide()

    def show_gnss(self, meta: Mapping | None, *, has_position: bool) -> None:
        text = summary(meta)
        if text is None:
            self.setText(tr("pq_form_no_gps"))
            self.setStyleSheet("color: #555")
            self.setVisible(has_position)
            return
        accuracy = _present(meta).get(_ACCURACY)
        good = accuracy is not None and accuracy <= DEFAULT_MAX_ACCURACY_M
        self.setText(text)
        self.setStyleSheet(f"color: {GOOD if good else POOR}")
        self.show()


def attach_to_form(form) -> PositionQuality | None:
    """Put a PositionQuality under the form's position field (a form of a record type that
    carries GNSS columns) and keep it current; None for other forms."""
    from .fields import PositionField

    key = next((k for k, w in form.fields.items() if isinstance(w, PositionField)), None)
    if key is None or not has_gnss_columns(form.fields) or key not in form.errors:
        return None
    position = form.fields[key]
    label = PositionQuality()
    form.errors[key].parentWidget().layout().insertWidget(1, label)  # under the fields, above the error
    typed = [False]  # moved by hand since shown: the stored figures no longer describe it
    stored: dict = {}  # the figures of the record the form shows, as read from the database

    def on_typed(_text: str) -> None:
        typed[0] = True
        refresh()

    def refresh(values: Mapping | None = None) -> None:
        if values is not None:  # the form shows a record (FormWidget.set_values)
            stored.clear()
            stored.update({k: values.get(k) for k in GNSS_COLUMNS})
            typed[0] = False
        meta = position.gnss
        if meta is not None:
            typed[0] = False
        elif not typed[0]:
            meta = stored
        lat, lon = position.value()
        label.show_gnss(meta, has_position=bool(lat and lon))

    form.changed.connect(lambda: refresh())
    position.lat.textEdited.connect(on_typed)
    position.lon.textEdited.connect(on_typed)
    label.refresh = refresh
    refresh()
    return label


__all__ = ["PositionQuality", "attach_to_form", "quality_rows", "summary", "accuracy_text", "has_gnss_columns"]
