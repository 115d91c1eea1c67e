"""Reference layers: GIS files drawn under the survey layers (roads, rivers, parcels, a plan).

store.py keeps the list in the database; vector.py and raster.py open a file into what the map
draws. `open_layer` is the one entry: whatever goes wrong with a file (gone, unreadable, a CRS
nobody can place) is an InvalidInputError whose text the layer panel shows, never more.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import InvalidInputError
from .store import (META_KEY, RASTER_SUFFIXES, SUFFIXES, VECTOR_SUFFIXES, RefLayer, check_file, check_style, find,
                    load, save, stored_path, unique_name)

__all__ = ["META_KEY", "SUFFIXES", "Opened", "RefLayer", "add_layer", "check_style", "find", "load",
           "open_layer", "remove_layer", "save", "update_layer"]


@dataclass
class Opened:
    """What a reference layer's file holds, ready to draw: one of vector, raster, tiles."""

    entry: RefLayer
    vector: object = None      # vector.VectorData
    raster: object = None      # raster.RasterData
    tiles: object = None       # core.mbtiles.MBTiles (the caller closes it)

    @property
    def notes(self) -> list[str]:
        for part in (self.vector, self.raster):
            if part is not None:
                return list(part.notes)
        return []


def province_of(db) -> str | None:
    try:
        return db.meta("province_code")
    except Exception:  # a server database or an odd file: coordinates then need a .prj
        return None


def open_file(file: Path, layer: str | None, entry: RefLayer, province: str | None = None) -> Opened:
    check_file(file)
    suffix = file.suffix.lower()
    if suffix == ".mbtiles":
        from ..mbtiles import MBTiles

        return Opened(entry, tiles=MBTiles(file))
    if suffix in (".tif", ".tiff"):
        from .raster import read_geotiff

        return Opened(entry, raster=read_geotiff(file))
    from .vector import read_vector

    return Opened(entry, vector=read_vector(file, layer, province))


def open_layer(entry: RefLayer, db_path, province: str | None = None) -> Opened:
    return open_file(entry.file(db_path), entry.layer, entry, province)


def add_layer(db, file: str | Path, *, layer: str | None = None, name: str | None = None, colour: str | None = None,
              width: float | None = None, fill: bool | None = None,
              label: str | None = None) -> tuple[RefLayer, Opened]:
    """Add a file at the top of the database's reference layers, after reading it once: a file
    that cannot be drawn is refused here, with the reason, rather than stored."""
    entry = new_entry(db, file, layer=layer, name=name, colour=colour, width=width, fill=fill)
    opened = read_new(entry, Path(file), province_of(db), label)
    entry = opened.entry
    save(db, [entry, *load(db)])
    return entry, opened


def new_entry(db, file: str | Path, *, layer: str | None = None, name: str | None = None,
              colour: str | None = None, width: float | None = None, fill: bool | None = None) -> RefLayer:
    """The entry `file` would be added as, checked against the database's list; nothing read
    from the file, nothing saved (the window reads the file on a worker between the two)."""
    file = check_file(Path(file))
    check_style(colour, width)
    layers = load(db)
    if name is not None and any(x.name == name for x in layers):
        raise InvalidInputError(f"đã có lớp tham chiếu tên '{name}' / a reference layer named '{name}' exists")
    wanted = name or (layer if layer else file.stem)
    entry = RefLayer(name=unique_name(layers, wanted), path=stored_path(db.path, file), layer=layer)
    if file.suffix.lower() in RASTER_SUFFIXES:
        return replace(entry, opacity=1.0)
    return replace(entry, colour=colour or entry.colour, width=width or entry.width,
                   fill=bool(fill) if fill is not None else entry.fill)


def read_new(entry: RefLayer, file: Path, province: str | None = None, label: str | None = None) -> Opened:
    """Read a file about to be added and refuse what cannot be drawn. It touches no database,
    so a worker thread may call it (a province's roads take seconds)."""
    layer = entry.layer
    file = check_file(file)
    opened = open_file(file, layer, entry, province)
    if opened.vector is not None and not opened.vector.parts():
        raise InvalidInputError(f"{file}: {'lớp ' + repr(layer) + ' ' if layer else ''}không có đối tượng nào có hình "
                                "học để vẽ / nothing with a geometry to draw")
    if label is not None:
        if opened.vector is None or label not in opened.vector.columns:
            shown = ", ".join(opened.vector.fields) if opened.vector is not None else ""
            raise InvalidInputError(f"không có thuộc tính '{label}' để làm nhãn (có: {shown or 'không có'}) / no "
                                    f"attribute '{label}' for labels")
        opened.entry = replace(entry, label=label)
    return opened


def update_layer(db, name: str, **changes) -> RefLayer:
    layers = load(db)
    old = find(layers, name)
    check_style(changes.get("colour"), changes.get("width"), changes.get("opacity"))
    new = replace(old, **changes)
    if new.name != old.name and any(x.name == new.name for x in layers):
        raise InvalidInputError(f"đã có lớp tham chiếu tên '{new.name}' / a reference layer named '{new.name}' exists")
    save(db, [new if x.name == name else x for x in layers])
    return new


def remove_layer(db, name: str) -> RefLayer:
    layers = load(db)
    gone = find(layers, name)
    save(db, [x for x in layers if x.name != name])
    return gone


__all__ += ["VECTOR_SUFFIXES", "new_entry", "open_file", "province_of", "read_new", "unique_name"]
