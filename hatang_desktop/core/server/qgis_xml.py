"""The pieces of a QGIS 3 project's XML that say how a layer looks and edits: symbols,
renderers, edit widgets. Written as QGIS 3.22 writes them (every symbol layer's properties both
as `<Option type="Map">`, which QGIS >= 3.26 reads, and as `<prop k v>`, which older 3.x reads),
so any QGIS 3 opens the project. Colours come as '#rrggbb[aa]', sizes in millimetres.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

# QGIS draws in millimetres; the app's widths and sizes are pixels at 96 dpi.
MM_PER_PX = 25.4 / 96

# pyqtgraph's symbol names (core/map_style.py) -> QGIS SimpleMarker shapes.
MARKER_SHAPES = {"t1": "triangle", "t": "triangle", "d": "diamond", "s": "square", "h": "hexagon",
                 "o": "circle", "star": "star", "+": "cross_fill"}

_UNIT_SCALE = "3x:0,0,0,0,0,0"


def rgba(spec: str) -> str:
    """'#rrggbb' or '#rrggbbaa' -> QGIS's 'r,g,b,a'."""
    spec = spec.lstrip("#")
    r, g, b = (int(spec[i:i + 2], 16) for i in (0, 2, 4))
    a = int(spec[6:8], 16) if len(spec) == 8 else 255
    return f"{r},{g},{b},{a}"


def mm(px: float) -> str:
    return f"{px * MM_PER_PX:.2f}"


def option(parent: Element, value=None, *, name: str | None = None, type_: str = "QString") -> Element:
    """One `<Option>` of QGIS's variant XML; a dict becomes a Map, a list a List."""
    e = SubElement(parent, "Option")
    if name is not None:
        e.set("name", name)
    if isinstance(value, dict):
        e.set("type", "Map")
        for k, v in value.items():
            option(e, v, name=k)
    elif isinstance(value, list):
        e.set("type", "List")
        for v in value:
            option(e, v)
    elif isinstance(value, bool):
        e.set("type", "bool")
        e.set("value", "true" if value else "false")
    elif isinstance(value, int):
        e.set("type", "int")
        e.set("value", str(value))
    elif value is not None:
        e.set("type", type_)
        e.set("value", str(value))
    return e


def data_defined(parent: Element, expressions: dict[str, str]) -> None:
    """A symbol layer's data-defined properties: property key -> QGIS expression."""
    dd = SubElement(parent, "data_defined_properties")
    top = SubElement(dd, "Option", type="Map")
    option(top, "", name="name")
    props = SubElement(top, "Option", name="properties")
    if expressions:
        props.set("type", "Map")
        for key, expression in expressions.items():
            p = SubElement(props, "Option", type="Map", name=key)
            option(p, True, name="active")
            option(p, expression, name="expression")
            option(p, 3, name="type")  # QgsProperty::ExpressionBasedProperty
    option(top, "collection", name="type")


def _symbol_layer(symbol: Element, cls: str, props: dict[str, str], expressions: dict[str, str]) -> None:
    layer = SubElement(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    opts = SubElement(layer, "Option", type="Map")
    for k in sorted(props):
        option(opts, props[k], name=k)
    for k in sorted(props):
        SubElement(layer, "prop", k=k, v=props[k])
    data_defined(layer, expressions)


def _symbol(parent: Element, name: str, kind: str) -> Element:
    s = SubElement(parent, "symbol", {"type": kind, "name": name, "alpha": "1", "clip_to_extent": "1",
                                      "force_rhr": "0"})
    data_defined(s, {})
    return s


def marker(parent: Element, name: str, *, colour: str, size_mm: float, shape: str = "circle",
           outline: str = "#232323", outline_mm: float = 0.0, expressions: dict[str, str] | None = None) -> None:
    s = _symbol(parent, name, "marker")
    _symbol_layer(s, "SimpleMarker", {
        "angle": "0", "cap_style": "square", "color": rgba(colour), "horizontal_anchor_point": "1",
        "joinstyle": "bevel", "name": shape, "offset": "0,0", "offset_map_unit_scale": _UNIT_SCALE,
        "offset_unit": "MM", "outline_color": rgba(outline), "outline_style": "solid",
        "outline_width": f"{outline_mm:.2f}", "outline_width_map_unit_scale": _UNIT_SCALE,
        "outline_width_unit": "MM", "scale_method": "diameter", "size": f"{size_mm:.2f}",
        "size_map_unit_scale": _UNIT_SCALE, "size_unit": "MM", "vertical_anchor_point": "1",
    }, expressions or {})


def line(parent: Element, name: str, *, colour: str, width_mm: float, style: str = "solid",
         expressions: dict[str, str] | None = None) -> None:
    s = _symbol(parent, name, "line")
    _symbol_layer(s, "SimpleLine", {
        "align_dash_pattern": "0", "capstyle": "round", "customdash": "5;2",
        "customdash_map_unit_scale": _UNIT_SCALE, "customdash_unit": "MM", "dash_pattern_offset": "0",
        "dash_pattern_offset_unit": "MM", "draw_inside_polygon": "0", "joinstyle": "round",
        "line_color": rgba(colour), "line_style": style, "line_width": f"{width_mm:.2f}",
        "line_width_unit": "MM", "offset": "0", "offset_map_unit_scale": _UNIT_SCALE, "offset_unit": "MM",
        "ring_filter": "0", "tweak_dash_pattern_on_corners": "0", "use_custom_dash": "0",
        "width_map_unit_scale": _UNIT_SCALE,
    }, expressions or {})


def fill(parent: Element, name: str, *, colour: str | None, outline: str, outline_mm: float,
         pattern: str = "solid") -> None:
    """A polygon symbol; `colour` None: outline only (style "no")."""
    s = _symbol(parent, name, "fill")
    _symbol_layer(s, "SimpleFill", {
        "border_width_map_unit_scale": _UNIT_SCALE, "color": rgba(colour or "#00000000"),
        "joinstyle": "bevel", "offset": "0,0", "offset_map_unit_scale": _UNIT_SCALE, "offset_unit": "MM",
        "outline_color": rgba(outline), "outline_style": "solid", "outline_width": f"{outline_mm:.2f}",
        "outline_width_unit": "MM", "style": pattern if colour else "no",
    }, {})


def renderer(parent: Element, kind: str, **attrs: str) -> tuple[Element, Element]:
    """A `<renderer-v2>` and its `<symbols>`; a categorized renderer also gets `<categories>`."""
    r = SubElement(parent, "renderer-v2", {"type": kind, "forceraster": "0", "symbollevels": "0",
                                           "enableorderby": "0", "referencescale": "-1", **attrs})
    if kind == "categorizedSymbol":
        SubElement(r, "categories")
    return r, SubElement(r, "symbols")


def category(r: Element, value: str, label: str, symbol_name: str) -> None:
    SubElement(r.find("categories"), "category", render="true", value=value, label=label, symbol=symbol_name)


def finish_renderer(r: Element) -> None:
    SubElement(r, "rotation")
    SubElement(r, "sizescale")


def edit_widget(field: Element, kind: str, config: dict | None) -> None:
    w = SubElement(field, "editWidget", type=kind)
    c = SubElement(w, "config")
    if config is None:
        SubElement(c, "Option")
    else:
        option(c, config)


def value_map_config(pairs: list[tuple[str, str]]) -> dict:
    """ValueMap's config: a list of one-entry maps label -> stored value, in the list's order."""
    return {"map": [{label: code} for code, label in pairs]}
