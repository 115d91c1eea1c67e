"""Which commune the user is working on, for the defaults of the dialogs they open from the map
(File > Xuất sổ Excel, Xuất dữ liệu GIS): the one chosen in the toolbar while it is still in view,
else the one the map is looking at. A dialog defaulting to the first commune of the list made a
commune official scroll through 69 names to find their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from hatang_desktop.core.geo.projection import mercator_to_lonlat

# The map "looks at" a commune when it is centred in it and shows no more than this many times
# its extent; a view of the whole province is no commune's.
IN_VIEW_FACTOR = 3.0


@dataclass(frozen=True)
class ViewScope:
    commune: str | None  # the commune code, None for none in particular
    chosen: bool  # picked by the user (toolbar list, a click on the commune), not merely in view


def _view(window) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = window.canvas.view.viewRange()
    return float(x0), float(y0), float(x1), float(y1)


def commune_in_view(window) -> ViewScope:
    db, communes = getattr(window, "db", None), getattr(window, "communes", None) or []
    if db is None or not communes:
        return ViewScope(None, False)
    x0, y0, x1, y1 = _view(window)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    index = window.commune_combo.currentIndex()
    if 0 <= index < len(communes):
        b = communes[index].bounds
        if b.min_x <= cx <= b.max_x and b.min_y <= cy <= b.max_y:
            return ViewScope(communes[index].code, True)
    from hatang_desktop.core.editing import commune_at

    lon, lat = mercator_to_lonlat(cx, cy)
    code = commune_at(db, float(lat), float(lon))
    commune = next((c for c in communes if c.code == code), None)
    if commune is None:
        return ViewScope(None, False)
    b = commune.bounds
    if (x1 - x0) > IN_VIEW_FACTOR * (b.max_x - b.min_x) and (y1 - y0) > IN_VIEW_FACTOR * (b.max_y - b.min_y):
        return ViewScope(None, False)
    return ViewScope(code, False)


__all__ = ["ViewScope", "commune_in_view", "IN_VIEW_FACTOR"]
