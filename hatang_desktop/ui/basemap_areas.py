"""The areas Tệp > Tải bản đồ nền… offers, from what the window already holds: the commune chosen
in the toolbar (or the one in view), the whole province, the map's view. Boxes in WGS84 degrees,
with the same margin the command line adds around a commune or a province (core/basemap/areas.py).
"""

from __future__ import annotations

from hatang_desktop.core.basemap.areas import AREA_MARGIN, Area
from hatang_desktop.core.basemap.tiles import MAX_LAT, BBox
from hatang_desktop.core.errors import InvalidInputError
from hatang_desktop.core.geo.projection import mercator_to_lonlat
from hatang_desktop.core.map_data import Extent

from .view_scope import commune_in_view


def lonlat_box(extent: Extent) -> BBox:
    """A Mercator extent as a longitude/latitude box, clipped to the world the tiles cover."""
    west, south = (float(v) for v in mercator_to_lonlat(extent.min_x, extent.min_y))
    east, north = (float(v) for v in mercator_to_lonlat(extent.max_x, extent.max_y))
    return BBox(max(-180.0, west), max(-MAX_LAT, south), min(180.0, east), min(MAX_LAT, north))


def _union(extents: list[Extent]) -> Extent:
    return Extent(min(e.min_x for e in extents), min(e.min_y for e in extents),
                  max(e.max_x for e in extents), max(e.max_y for e in extents))


def download_areas(window) -> tuple[list[tuple[str, Area]], str]:
    """([(kind, area)], the kind proposed): "commune" first when one is chosen or in view."""
    every = getattr(window, "communes", None) or []
    communes = [c for c in every if not c.bounds.empty]
    out: list[tuple[str, Area]] = []
    index = window.commune_combo.currentIndex()  # the toolbar's list is window.communes, in order
    code = every[index].code if 0 <= index < len(every) else commune_in_view(window).commune
    commune = next((c for c in communes if c.code == code), None)
    if commune is not None:
        out.append(("commune", Area(lonlat_box(commune.bounds), f"{commune.name} ({commune.code})", False)
                    .widened(AREA_MARGIN)))
    if communes:
        province = (getattr(window, "info", None) or {}).get("province") or {}
        label = f"{province.get('name', '')} ({province.get('code', '')})" if province.get("name") else ""
        out.append(("province", Area(lonlat_box(_union([c.bounds for c in communes])), label, False)
                    .widened(AREA_MARGIN)))
    view = window.canvas.view_extent()
    if not view.empty:
        try:
            out.append(("view", Area(lonlat_box(view), "", False)))
        except InvalidInputError:  # a degenerate view (nothing loaded yet): no such choice
            pass
    return out, out[0][0] if out else "view"


__all__ = ["download_areas", "lonlat_box"]
