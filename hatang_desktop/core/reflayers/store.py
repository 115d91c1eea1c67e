"""The reference layers of a database: which files, in which order, drawn how.

Stored as one JSON list under the `reference_layers` key of the database's `meta` table (no
schema change: a database of an older version simply has no such key). A file under the
database's folder is stored relative to it, so a folder copied to another laptop or drive
keeps its layers; any other file is stored absolute. The list is top first, as the layer
panel shows it; each entry holds the file, the layer chosen in it (a GeoPackage may have
several) and its style.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from ..errors import InvalidInputError
from ..storage.database import set_meta

log = logging.getLogger(__name__)

META_KEY = "reference_layers"
COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".kml", ".kmz")
RASTER_SUFFIXES = (".tif", ".tiff", ".mbtiles")
SUFFIXES = VECTOR_SUFFIXES + RASTER_SUFFIXES
MAX_WIDTH = 20.0
DESCRIPTION = "Lớp tham chiếu / reference layers"


@dataclass(frozen=True)
class RefLayer:
    name: str                       # shown in the layer panel; unique in the database
    path: str                       # as stored: relative to the database's folder, or absolute
    layer: str | None = None        # the layer inside the file (GeoPackage, KML folder), None: all/only
    colour: str = "#7a5c3e"
    width: float = 1.2              # pixels
    fill: bool = False
    opacity: float = 0.35           # of the fill (and of a raster)
    label: str | None = None        # the attribute written beside each feature
    visible: bool = True

    @property
    def raster(self) -> bool:
        return Path(self.path).suffix.lower() in RASTER_SUFFIXES

    def file(self, db_path: str | Path | None) -> Path:
        """The file on this machine: a relative path is taken from the database's folder."""
        p = Path(self.path)
        if p.is_absolute() or db_path is None:
            return p
        return Path(db_path).resolve().parent / p

    def as_json(self) -> dict:
        return asdict(self)


def check_style(colour: str | None = None, width: float | None = None, opacity: float | None = None) -> None:
    if colour is not None and not COLOUR.match(colour):
        raise InvalidInputError(f"màu '{colour}' không hợp lệ, dùng dạng #RRGGBB / colour '{colour}' is not "
                                "#RRGGBB")
    if width is not None and not (0 < width <= MAX_WIDTH):
        raise InvalidInputError(f"độ rộng nét {width} phải trong (0, {MAX_WIDTH:g}] điểm ảnh / line width {width} "
                                f"must be in (0, {MAX_WIDTH:g}] pixels")
    if opacity is not None and not (0 <= opacity <= 1):
        raise InvalidInputError(f"độ mờ {opacity} phải trong 0..1 / opacity {opacity} must be within 0..1")


def stored_path(db_path: str | Path | None, file: str | Path) -> str:
    """How `file` is written in the list: relative to the database's folder when under it."""
    file = Path(file).resolve()
    if db_path is None:
        return str(file)
    folder = Path(db_path).resolve().parent
    try:
        return file.relative_to(folder).as_posix()
    except ValueError:
        return str(file)


def _entry(raw) -> RefLayer | None:
    """One stored entry, or None when it is not one (a hand-edited or newer list): skipped."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("path"), str):
        return None
    known = {f.name for f in fields(RefLayer)}
    values = {k: v for k, v in raw.items() if k in known}
    try:
        layer = RefLayer(**values)
        check_style(layer.colour, float(layer.width), float(layer.opacity))
    except (TypeError, ValueError, InvalidInputError):
        base = RefLayer(name=raw["name"], path=raw["path"], layer=raw.get("layer") if isinstance(
            raw.get("layer"), str) else None)
        log.warning("reference layer %r: style not understood, default style used", raw["name"])
        return base
    return replace(layer, width=float(layer.width), opacity=float(layer.opacity), fill=bool(layer.fill),
                   visible=bool(layer.visible))


def load(db) -> list[RefLayer]:
    """The database's reference layers, top first; an unreadable list counts as none (logged)."""
    text = db.meta(META_KEY)
    if not text:
        return []
    try:
        raw = json.loads(text)
    except ValueError:
        log.warning("meta %s is not JSON: ignored", META_KEY)
        return []
    out = []
    for item in raw if isinstance(raw, list) else []:
        entry = _entry(item)
        if entry is not None and all(e.name != entry.name for e in out):
            out.append(entry)
    return out


def save(db, layers: list[RefLayer]) -> None:
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise InvalidInputError("hai lớp tham chiếu trùng tên / two reference layers have the same name")
    doc = json.dumps([layer.as_json() for layer in layers], ensure_ascii=False)
    with db.operation(DESCRIPTION) as s:
        set_meta(s, META_KEY, doc)


def find(layers: list[RefLayer], name: str) -> RefLayer:
    for layer in layers:
        if layer.name == name:
            return layer
    shown = ", ".join(repr(layer.name) for layer in layers) or "không có / none"
    raise InvalidInputError(f"không có lớp tham chiếu '{name}' (có: {shown}) / no reference layer '{name}' "
                            f"(there are: {shown})")


def unique_name(layers: list[RefLayer], wanted: str) -> str:
    taken = {layer.name for layer in layers}
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted} ({n})" in taken:
        n += 1
    return f"{wanted} ({n})"


def check_file(file: str | Path) -> Path:
    file = Path(file)
    if file.suffix.lower() not in SUFFIXES:
        raise InvalidInputError(
            f"{file}: định dạng không hỗ trợ làm lớp tham chiếu; dùng .gpkg, .shp, .geojson, .kml, .kmz, .tif "
            "hoặc .mbtiles / unsupported format for a reference layer")
    if not file.is_file():
        raise InvalidInputError(f"{file}: không tìm thấy tệp / file not found")
    if not os.access(file, os.R_OK):
        raise InvalidInputError(f"{file}: không có quyền đọc tệp / the file cannot be read (permission)")
    return file
