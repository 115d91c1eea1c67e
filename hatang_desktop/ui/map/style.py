"""How each kind of feature looks: colours, symbols, pens. Data, so the legend and the map agree."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen

from hatang_desktop.core.map_style import (  # noqa: F401 - shared with the QGIS project
    COMMUNE_PEN, FINDING_COLOUR, HATCHED_ZONES, POLE_COLOUR, PROVINCE_PEN, ROUTE_LINES, SITE_SIZE,
    TOWER_SYMBOLS, ZONE_COLOURS, ZONE_FALLBACK,
)
from hatang_desktop.core.operators import BY_CODE, OPERATORS, UNKNOWN

from ..strings import tr

BACKGROUND = "#e9eef2"  # outside the province: a cool grey, so the province reads as land
LAND = "#fbfaf5"
LABEL_COLOUR = "#262626"
LABEL_PLATE = "#ffffffb4"
HIGHLIGHT = "#00d5ffd0"  # cyan: no operator, zone or finding uses it
SELECTION = "#ffd400"  # yellow halo under selected features: unlike any operator colour
MEASURE_COLOUR = "#e0007a"  # magenta: stands out on land, boundaries and every operator
MEASURE_FILL = "#e0007a33"

SITE_SIZE_FAR = 6
SITE_SIZE_DOT = 3  # several provinces on screen
SITE_SHARED_PEN = ("#111111", 2.0)
SITE_PLAIN_PEN = ("#ffffff", 0.8)
SITE_5G_COLOUR = "#9b1fe8"
SITE_INACTIVE_COLOUR = "#b5b5b5"
# A site to verify (an imported reference point nobody has checked): a bigger ring in its
# operator's colour (grey when unknown) with a question mark cut out of it, on a white disc.
SITE_TO_VERIFY_EXTRA = 5  # pixels more than an ordinary site
SITE_TO_VERIFY_PEN = ("#3d3d3d", 1.0)
SITE_TO_VERIFY_INSIDE = "#ffffffe6"

POLE_SHARED_COLOUR = "#d9822b"
VILLAGE_COLOUR = "#6b8e23"

_PEN_STYLES = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine}
ROUTE_STYLES = {  # method -> (Qt pen style, width in px)
    method: (_PEN_STYLES[line], width) for method, (line, width) in ROUTE_LINES.items()
}

ZONE_STYLES = {  # kind -> (outline, fill with alpha, brush pattern)
    kind: (outline, fill, Qt.BrushStyle.BDiagPattern if kind in HATCHED_ZONES else Qt.BrushStyle.SolidPattern)
    for kind, (outline, fill) in ZONE_COLOURS.items()
}


def colour(spec: str) -> QColor:
    """'#rrggbb' or '#rrggbbaa' (CSS order; Qt reads 8 digits as #aarrggbb)."""
    if len(spec) == 9:
        c = QColor(spec[:7])
        c.setAlpha(int(spec[7:], 16))
        return c
    return QColor(spec)


def pen(spec: str, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    p = QPen(colour(spec), width, style)
    p.setCosmetic(True)  # width in screen pixels at every zoom
    return p


def operator_colour(code: str) -> str:
    op = BY_CODE.get(code)
    return op.colour if op else BY_CODE["OTHER"].colour


def operator_brand(code: str) -> str:
    if code == UNKNOWN:
        return tr("op_unknown")
    op = BY_CODE.get(code)
    return op.brand if op else code


def verify_symbol() -> QPainterPath:
    """A ring with a question mark, in the unit box pyqtgraph scales symbols from (y points
    down): a site to verify. Odd-even fill: the brush paints the ring and the question mark."""
    from PySide6.QtGui import QFont

    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    path.addEllipse(-0.5, -0.5, 1.0, 1.0)
    path.addEllipse(-0.36, -0.36, 0.72, 0.72)
    mark = QPainterPath()
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(100)
    mark.addText(0, 0, font, "?")
    box = mark.boundingRect()
    scale = 0.56 / box.height()
    from PySide6.QtGui import QTransform

    t = QTransform()
    t.scale(scale, scale)
    t.translate(-box.center().x(), -box.center().y())
    path.addPath(t.map(mark))
    return path


def operators_in_order() -> list[str]:
    return [op.code for op in OPERATORS]


def zone_brush(kind: str) -> QBrush:
    _, fill, pattern = ZONE_STYLES.get(kind, (*ZONE_FALLBACK, Qt.BrushStyle.SolidPattern))
    return QBrush(colour(fill), pattern)


def zone_pen(kind: str) -> QPen:
    return pen(ZONE_STYLES.get(kind, ZONE_FALLBACK)[0], 1.4)


def flag_symbol() -> QPainterPath:
    """A little flag for findings, in the unit box pyqtgraph scales symbols from (y points down)."""
    path = QPainterPath()
    path.addRect(-0.42, -0.5, 0.1, 1.0)  # the staff
    path.moveTo(-0.32, -0.5)
    path.lineTo(0.5, -0.25)
    path.lineTo(-0.32, 0.02)
    path.closeSubpath()
    return path


# Findings by severity: the colour in the findings list, on the map and in the legend; all flags
# (sites use discs, triangles, squares in operator colours), smaller as the severity is lower.
SEVERITY_COLOURS = {"violation": "#c62828", "warning": "#e08a00", "info": "#607d8b"}
FINDING_SYMBOLS = {  # severity -> (symbol, size in px, outline): a flag is a finding, never a site
    "violation": (flag_symbol(), 18, "#7a0000"),
    "warning": (flag_symbol(), 15, "#6b4200"),
    "info": (flag_symbol(), 12, "#37474f"),
}
