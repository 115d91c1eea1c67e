"""The side dock that shows the attributes of the feature last clicked on the map."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDockWidget, QTextBrowser

from hatang_desktop.core import schema
from hatang_desktop.core.gps import GNSS_COLUMNS
from hatang_desktop.core.map_data import Feature
from hatang_desktop.core.text import format_plain

from . import strings
from .editing.position_quality import has_gnss_columns, quality_rows
from .map.style import operator_brand
from .record_text import field_label, format_value
from .strings import tr


def _shown(table: str, key: str, a: dict) -> str:
    if key == "commune_code" and a.get("commune_name"):
        return f"{a['commune_name']} ({a[key]})"  # as the workbook writes it
    return format_value(table, key, a[key])


def feature_rows(feature: Feature) -> list[tuple[str, str, list[str]]]:
    """(field label, value, detail lines) in display order: plain data, testable without widgets."""
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
    if a.get("tenants"):
        lines = []
        for t in a["tenants"]:
            techs = schema.technologies(t)
            lines.append(f"{operator_brand(t['operator_code'])}: {', '.join(techs) or '–'}")
        rows.insert(1, (tr("tenants"), str(len(lines)), lines))
    if a.get("attachments"):
        lines = []
        for t in a["attachments"]:
            h = "–" if t["lowest_height_m"] is None else f"{format_plain(t['lowest_height_m'], strings.language())} m"
            lines.append(f"{operator_brand(t['operator_code'])}: {tr('cables', n=t['cable_count'], h=h)}")
        rows.insert(1, (tr("attachments"), str(len(lines)), lines))
    return rows


class IdentifyPanel(QDockWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(tr("dock_identify"), parent)
        self.setObjectName("identify_panel")
        # Rich text rather than a two-column tree: long Vietnamese labels and addresses wrap
        # instead of being cut off in a narrow dock.
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.setWidget(self.view)
        self.clear()

    def clear(self) -> None:
        """Back to the hint shown before anything was clicked."""
        self.feature = None
        self.view.setHtml(f"<p style='color:#555'>{escape(tr('identify_hint'))}</p>")

    def heading(self) -> str:
        return self.view.toPlainText().split("\n", 1)[0]

    def show_feature(self, feature: Feature | None) -> None:
        self.feature = feature
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
