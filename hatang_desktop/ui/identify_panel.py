"""The side dock that shows the attributes of the feature last clicked on the map."""

from __future__ import annotations

from html import escape

import numpy as np
import shapely
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDockWidget, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from hatang_desktop.core import schema
from hatang_desktop.core.gps import GNSS_COLUMNS
from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.core.map_data import Feature

from . import strings
from .editing.position_quality import has_gnss_columns, quality_rows
from .record_text import field_label, format_value, geometry_summary, record_label
from .strings import tr


POLES_LISTED = 12  # a backbone route hangs on hundreds: the first ones name it, the count says the rest


def _shown(table: str, key: str, a: dict) -> str:
    if key == "commune_code" and a.get("commune_name"):
        return f"{a['commune_name']} ({a[key]})"  # as the workbook writes it
    return format_value(table, key, a[key])


def _geometry_row(feature: Feature) -> tuple[str, str, list[str]] | None:
    """A route's line or a zone's outline as its form shows it: length or area, vertices, ends."""
    form = schema.form(feature.table)
    field = next((f for f in form.fields if f.type == "geometry"), None) if form is not None else None
    if field is None or feature.geometry is None:
        return None
    lonlat = shapely.transform(feature.geometry, lambda xy: np.column_stack(mercator_to_lonlat(xy[:, 0], xy[:, 1])))
    first, *rest = geometry_summary(lonlat)
    return field.shown_label(strings.language()), first, rest


def feature_rows(feature: Feature) -> list[tuple[str, str, list[str]]]:
    """(field label, value, detail lines) in display order: plain data, testable without widgets.
    Every label and value comes from forms/ (core.schema), a sub-list's too."""
    a = dict(feature.attributes)
    if any(c in a for c in schema.TECH_COLUMNS.values()):
        a.setdefault("technologies", schema.technologies(a))
    keys = [k for k in schema.display_keys(feature.table) if a.get(k) not in (None, "", ())
            and k not in GNSS_COLUMNS]
    rows = [(field_label(feature.table, k), _shown(feature.table, k, a), []) for k in keys]
    order = schema.display_keys(feature.table)
    if has_gnss_columns(order) and ("lon" in keys or any(a.get(k) not in (None, "") for k in GNSS_COLUMNS)):
        # How good the position is, right under it (or that it did not come from a GPS).
        first = order.index(GNSS_COLUMNS[0])
        at = keys.index("lon") + 1 if "lon" in keys else sum(order.index(k) < first for k in keys)
        rows[at:at] = [(label, value, []) for label, value in quality_rows(feature.table, a)]
    geometry = _geometry_row(feature)
    if geometry is not None:
        rows.insert(min(len(rows), 4), geometry)
    if a.get("tenants"):
        lines = []
        for t in a["tenants"]:
            techs = format_value("site_tenants", "technologies", schema.technologies(t))
            lines.append(f"{format_value('site_tenants', 'operator_code', t['operator_code'])}: {techs or '–'}")
        rows.insert(1, (record_label("site_tenants", plural=True), str(len(lines)), lines))
    if a.get("poles"):  # a route: the poles it hangs on (fibre_route_poles)
        codes = a["poles"]
        shown = ", ".join(codes[:POLES_LISTED]) + (", …" if len(codes) > POLES_LISTED else "")
        rows.insert(min(len(rows), 5), (tr("identify_route_poles"), tr("identify_route_poles_value",
                                                                       n=len(codes), codes=shown), []))
    if a.get("attachments"):
        lines = []
        for t in a["attachments"]:
            h = t["lowest_height_m"]
            h = "–" if h is None else f"{format_value('pole_attachments', 'lowest_height_m', h)} m"
            lines.append(f"{format_value('pole_attachments', 'operator_code', t['operator_code'])}: "
                         f"{tr('cables', n=t['cable_count'], h=h)}")
        rows.insert(1, (record_label("pole_attachments", plural=True), str(len(lines)), lines))
    return rows


class IdentifyPanel(QDockWidget):
    go_to_requested = Signal(object)  # "Đi tới" pressed for the shown site or pole (ui/gps_map.py)

    def __init__(self, parent=None) -> None:
        super().__init__(tr("dock_identify"), parent)
        self.setObjectName("identify_panel")
        # Rich text rather than a two-column tree: long Vietnamese labels and addresses wrap
        # instead of being cut off in a narrow dock.
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.go_to_button = QPushButton(tr("goto_act"))
        self.go_to_button.setToolTip(tr("goto_tip"))
        self.go_to_button.clicked.connect(lambda: self.go_to_requested.emit(self.feature))
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.go_to_button)
        self.setWidget(body)
        self.clear()

    def clear(self) -> None:
        """Back to the hint shown before anything was clicked."""
        self.feature = None
        self.go_to_button.hide()
        self.view.setHtml(f"<p style='color:#555'>{escape(tr('identify_hint'))}</p>")

    def heading(self) -> str:
        return self.view.toPlainText().split("\n", 1)[0]

    def show_feature(self, feature: Feature | None) -> None:
        self.feature = feature
        self.go_to_button.setVisible(feature is not None and feature.table in ("sites", "poles"))
        if feature is None:
            self.view.setHtml(f"<p style='color:#555'>{escape(tr('identify_nothing'))}</p>")
            return
        a = feature.attributes
        title = schema.title(feature.table, a)
        parts = [f"<p><b>{escape(schema.record_label(feature.table, strings.language()))}</b><br>"
                 f"<span style='font-size:large'>{escape(str(title))}</span></p>",
                 "<table cellspacing='0' cellpadding='3' width='100%'>"]
        for i, (label, value, details) in enumerate(feature_rows(feature)):
            shade = " bgcolor='#f2f4f6'" if i % 2 == 0 else ""
            extra = "".join(f"<br>{escape(line)}" for line in details)
            parts.append(f"<tr{shade}><td style='color:#555' valign='top'>{escape(label)}</td>"
                         f"<td valign='top'>{escape(value)}{extra}</td></tr>")
        parts.append("</table>")
        self.view.setHtml("".join(parts))
