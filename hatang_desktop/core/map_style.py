"""How the map draws each kind of feature, as plain data (no Qt): colours, widths, shapes.

The app's map (ui/map/style.py) and the QGIS project written for the department's server
(core/server/qgis_project.py) both read these, so a colour changed here changes in both.
Colours are '#rrggbb' or '#rrggbbaa' (CSS order); widths and sizes are screen pixels.
Operators' colours live with the operators (core/operators.py).
"""

from __future__ import annotations

PROVINCE_PEN = ("#4a4a4a", 2.2)
COMMUNE_PEN = ("#9a9a9a", 0.9)

# Tower type -> the site's marker, as pyqtgraph names its symbols.
TOWER_SYMBOLS = {
    "ground_tower": "t1",   # triangle pointing up: a lattice tower
    "guyed_mast": "d",
    "rooftop_pole": "s",
    "camouflaged": "h",
    "small_cell": "o",
    "": "o",
}
SITE_SIZE = 10

POLE_COLOUR = "#a8a8a8"
FINDING_COLOUR = "#d7191c"

# Laying method -> (line style: "solid" | "dash" | "dot", width).
ROUTE_LINES = {
    "aerial": ("solid", 1.3),
    "duct": ("dash", 1.3),
    "buried": ("dot", 1.6),
}

# Zone kind -> (outline, fill with alpha); the kinds in HATCHED_ZONES are filled with hatching.
ZONE_COLOURS = {
    "industrial_park": ("#7b3294", "#7b329440"),
    "industrial_cluster": ("#c2a5cf", "#c2a5cf55"),
    "economic_zone": ("#a6611a", "#dfc27d38"),
    "undergrounding": ("#0571b0", "#0571b066"),
}
HATCHED_ZONES = frozenset({"undergrounding"})
ZONE_FALLBACK = ("#555555", "#55555530")
