"""Record types, column titles and stored values in the UI's language, all read from forms/
through `core.schema` (the identify panel, the attribute table, the history, legends, search)."""

from __future__ import annotations

from hatang_desktop.core import schema
from hatang_desktop.core.operators import UNKNOWN

from . import strings


def record_label(table: str, short: bool = False, plural: bool = False) -> str:
    return schema.record_label(table, strings.language(), short, plural)


def yes_no(value: bool) -> str:
    return schema.yes_no(value, strings.language())


def value_label(table: str, name: str, code: str) -> str:
    """A value-list code's label ("Trục" for a route's `backbone`)."""
    return schema.value_text(table, name, code, strings.language()) or str(code)


def field_label(table: str, name: str) -> str:
    """A column's title in the UI's language, from forms/ (core.schema)."""
    return schema.field_label(table, name, strings.language())


def _date_text(table: str, name: str, value) -> str | None:
    """A date field as the form shows it (dd/mm/yyyy); the time a record was last changed to the
    minute, in UTC as stored. None for anything else."""
    import datetime as dt

    field = schema.field(table, name)
    try:
        if field is not None and field.type == "date":
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
            return day.strftime("%d/%m/%Y")
        if name == "updated_at":
            at = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value)[:19])
            return at.strftime("%d/%m/%Y %H:%M") + " UTC"
    except ValueError:
        return None  # a value written some other way is shown as it is
    return None


def format_value(table: str, name: str, value) -> str:
    """A stored value as people read it: brands for operator codes, labels for value-list codes
    and yes/no (all from forms/), numbers the UI's language's way."""
    if name == "operator_code" and value == UNKNOWN:
        from .map.style import operator_brand  # "not known yet" is a UI word, not a brand
        return operator_brand(value)
    words = schema.value_text(table, name, value, strings.language())
    if words is not None:
        return words
    when = _date_text(table, name, value)
    if when is not None:
        return when
    if name in ("lat", "lon"):
        return strings.format_number(value, 6)  # as a route's ends read (geometry_summary)
    if isinstance(value, float):
        if value >= 1000:
            return strings.format_int(round(value))
        return f"{value:g}".replace(".", ",") if strings.language() == "vi" else f"{value:g}"
    return str(value)


def point_text(lat: float, lon: float) -> str:
    """A latitude and longitude as people read them, 6 decimals the UI's language's way."""
    return strings.tr("geometry_point", lat=strings.format_number(lat, 6), lon=strings.format_number(lon, 6))


def geometry_summary(geom) -> list[str]:
    """A route's line or a zone's outline in words: length (or area) and vertex count, then a
    line's start and end. Never its WKT: nobody filling a form reads that."""
    import shapely

    from hatang_desktop.core.geo.geodesy import geodesic_area_m2, geodesic_length_m

    from .map.overlays import format_area, format_distance

    if geom is None or geom.is_empty:
        return [strings.tr("form_geometry_none")]
    coords = shapely.get_coordinates(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return [strings.tr("form_geometry_polygon", n=len(coords) - 1, area=format_area(geodesic_area_m2(geom)))]
    (lon0, lat0), (lon1, lat1) = coords[0], coords[-1]
    return [strings.tr("form_geometry_line", n=len(coords), length=format_distance(geodesic_length_m(geom))),
            strings.tr("geometry_start", point=point_text(lat0, lon0)),
            strings.tr("geometry_end", point=point_text(lat1, lon1))]
